// Test support: replaces the global operator new/delete to count allocations. Include it in
// exactly one source file of a test binary.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace globaldns::testing {

inline std::atomic<bool> g_count_allocations{false};
inline std::atomic<uint64_t> g_allocations{0};
// A thread that sets this is not counted (e.g. the test's own thread, allocating for gtest).
inline thread_local bool t_allocations_exempt = false;

[[gnu::noinline]] inline void* counted_alloc(std::size_t size) {
  if (g_count_allocations.load(std::memory_order_relaxed) && !t_allocations_exempt)
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

// Out of line so g++ does not pair an inlined free() with operator new and warn
// (-Wmismatched-new-delete): both sides are ours and both use malloc/free.
[[gnu::noinline]] inline void counted_free(void* p) noexcept {
  std::free(p);
}

}  // namespace globaldns::testing

void* operator new(std::size_t size) {
  return globaldns::testing::counted_alloc(size);
}
void* operator new[](std::size_t size) {
  return globaldns::testing::counted_alloc(size);
}
void operator delete(void* p) noexcept {
  globaldns::testing::counted_free(p);
}
void operator delete[](void* p) noexcept {
  globaldns::testing::counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  globaldns::testing::counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  globaldns::testing::counted_free(p);
}
