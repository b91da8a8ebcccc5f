// Origin: the interned texts, and comparison as text without building it.
#include "sync/origin.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>

namespace globaldns::sync {

namespace detail {
struct InternedText {
  std::string text;
  uint32_t number;
};
}  // namespace detail

namespace {

using detail::InternedText;

const InternedText kEmpty{"", 0};

// The interned texts by text, and by number in chunks that never move: a packed entry's origin
// is read back by number from any thread, without the lock. Never freed, not even at exit (an
// entry outliving them in another static would dangle); they grow only with distinct paths and
// cluster names.
constexpr size_t kChunkBits = 8;
constexpr size_t kChunkSize = size_t{1} << kChunkBits;
constexpr size_t kChunks = size_t{1} << 16;  // 16M texts; the table is zero pages until used
struct Chunk {
  std::array<std::atomic<const InternedText*>, kChunkSize> texts{};
};
constinit std::array<std::atomic<Chunk*>, kChunks> chunks{};

struct ByText {
  using is_transparent = void;
  bool operator()(const InternedText& a, const InternedText& b) const { return a.text < b.text; }
  bool operator()(std::string_view a, const InternedText& b) const { return a < b.text; }
  bool operator()(const InternedText& a, std::string_view b) const { return a.text < b; }
};

const InternedText* intern(std::string_view text) {
  if (text.empty()) return &kEmpty;
  static std::mutex mutex;
  static auto* texts = new std::set<InternedText, ByText>();
  static uint32_t next_number = 1;
  std::lock_guard lock(mutex);
  auto it = texts->find(text);
  if (it != texts->end()) return &*it;
  if (next_number == kChunks * kChunkSize)
    throw std::length_error("more than 16,777,215 distinct origins (file paths, cluster names)");
  const uint32_t number = next_number++;
  std::atomic<Chunk*>& chunk = chunks[number >> kChunkBits];
  if (chunk.load(std::memory_order_relaxed) == nullptr)
    chunk.store(new Chunk{}, std::memory_order_release);
  const InternedText* made = &*texts->insert(InternedText{std::string(text), number}).first;
  chunk.load(std::memory_order_relaxed)
      ->texts[number & (kChunkSize - 1)]
      .store(made, std::memory_order_release);
  return made;
}

// ":<line>" in `buffer`, or nothing for line 0.
std::string_view line_suffix(uint32_t line, char (&buffer)[16]) noexcept {
  if (line == 0) return {};
  buffer[0] = ':';
  const auto end = std::to_chars(buffer + 1, buffer + sizeof buffer, line).ptr;
  return {buffer, static_cast<size_t>(end - buffer)};
}

// a1 + a2 against b1 + b2, as std::string compares (bytes as unsigned char).
std::strong_ordering compare_joined(std::string_view a1, std::string_view a2, std::string_view b1,
                                    std::string_view b2) noexcept {
  const size_t a_size = a1.size() + a2.size();
  const size_t b_size = b1.size() + b2.size();
  for (size_t i = 0; i < a_size && i < b_size; ++i) {
    const auto x = static_cast<unsigned char>(i < a1.size() ? a1[i] : a2[i - a1.size()]);
    const auto y = static_cast<unsigned char>(i < b1.size() ? b1[i] : b2[i - b1.size()]);
    if (x != y) return x <=> y;
  }
  return a_size <=> b_size;
}

}  // namespace

Origin::Origin() noexcept : where_(&kEmpty) {}

Origin::Origin(std::string_view where) : where_(intern(where)) {}

const std::string& Origin::where() const noexcept {
  return where_->text;
}

uint32_t Origin::where_number() const noexcept {
  return where_->number;
}

Origin Origin::numbered(uint32_t number, uint32_t line) noexcept {
  if (number == 0) return Origin(&kEmpty, line);
  const Chunk& chunk = *chunks[number >> kChunkBits].load(std::memory_order_acquire);
  return Origin(chunk.texts[number & (kChunkSize - 1)].load(std::memory_order_acquire), line);
}

std::string Origin::text() const {
  char buffer[16];
  std::string out = where_->text;
  out += line_suffix(line_, buffer);
  return out;
}

bool operator==(const Origin& a, const Origin& b) noexcept {
  if (a.where_ == b.where_ && a.line_ == b.line_) return true;
  return (a <=> b) == 0;
}

std::strong_ordering operator<=>(const Origin& a, const Origin& b) noexcept {
  char a_buffer[16];
  char b_buffer[16];
  return compare_joined(a.where_->text, line_suffix(a.line_, a_buffer), b.where_->text,
                        line_suffix(b.line_, b_buffer));
}

}  // namespace globaldns::sync
