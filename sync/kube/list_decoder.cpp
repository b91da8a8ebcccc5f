// ServiceEntryList decoding: the page is judged once, then each item alone.
#include "sync/kube/list_decoder.hpp"

#include <boost/container/pmr/memory_resource.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <algorithm>
#include <memory>
#include <new>

#include "sync/kube/status.hpp"

namespace globaldns::sync::kube {
namespace {

// The heap, counting what was taken from it.
class CountingResource final : public boost::container::pmr::memory_resource {
 public:
  size_t taken = 0;

 private:
  // operator new itself: boost::container's new_delete_resource() would link its library.
  void* do_allocate(size_t bytes, size_t align) override {
    taken += bytes;
    return ::operator new(bytes, std::align_val_t(align));
  }
  void do_deallocate(void* p, size_t /*bytes*/, size_t align) override {
    ::operator delete(p, std::align_val_t(align));
  }
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }
};

// A page's DOM lives only until its entries are extracted, in one arena. Its first block is
// kept for the next page on this thread and grown to what the last page took: freed each time,
// the blocks went back to the system and every page faulted them in again (at 1M, about 216,000
// of a start's 350,000 page faults). Bounded: a larger page takes the rest from the heap.
struct KeptBlock {
  static constexpr size_t kMax = size_t{32} << 20;
  std::unique_ptr<unsigned char[]> bytes;
  size_t size = 0;
};

Result<DecodedList> decode_list_in(std::string_view body, const Origin& origin,
                                   const JsonLimits& limits, boost::json::storage_ptr arena);

}  // namespace

Result<DecodedList> decode_list(std::string_view body, const Origin& origin,
                                const JsonLimits& limits) {
  thread_local KeptBlock kept;
  CountingResource heap;
  // The arena goes (its heap blocks with it) before the kept block may be replaced. With no
  // kept block yet, (nullptr, 0) is the arena's empty start, as its default constructor's.
  Result<DecodedList> out = [&] {
    boost::json::monotonic_resource arena(kept.bytes.get(), kept.size, &heap);
    return decode_list_in(body, origin, limits, &arena);
  }();
  if (heap.taken > 0 && kept.size < KeptBlock::kMax) {
    kept.size = std::min(KeptBlock::kMax, kept.size + heap.taken);
    kept.bytes = std::make_unique_for_overwrite<unsigned char[]>(kept.size);
  }
  return out;
}

namespace {

Result<DecodedList> decode_list_in(std::string_view body, const Origin& origin,
                                   const JsonLimits& limits, boost::json::storage_ptr arena) {
  auto parsed = parse_json_object(body, "list", limits, std::move(arena));
  if (!parsed) return Error{parsed.error()};
  const boost::json::object& root = *parsed;

  const std::string_view kind = string_field(root, "kind");
  if (kind == "Status") return Error{"list: server answered " + describe(status_from_json(root))};
  if (kind != "ServiceEntryList" && kind != "List") {
    return Error{"list: expected kind ServiceEntryList, got \"" + std::string(kind) + "\""};
  }

  DecodedList out;
  if (const auto* metadata = object_field(root, "metadata")) {
    out.resource_version = string_field(*metadata, "resourceVersion");
    out.continue_token = string_field(*metadata, "continue");
    const auto* remaining = metadata->if_contains("remainingItemCount");
    if (remaining != nullptr && remaining->is_int64()) {
      out.remaining_item_count = remaining->get_int64();
    }
  }
  if (out.resource_version.empty()) return Error{"list: no metadata.resourceVersion"};

  const boost::json::value* items = root.if_contains("items");
  if (items == nullptr || items->is_null()) return out;  // Go writes nil slices as null
  if (!items->is_array()) return Error{"list: items is not a list"};
  out.objects.reserve(items->get_array().size());
  for (const auto& item : items->get_array()) {
    const boost::json::object* object = item.if_object();
    if (object == nullptr) {
      out.problems.push_back("list item is not an object; ignored");
      continue;
    }
    auto decoded = kube_object_from_json(*object, origin, &out.problems);
    if (decoded) {
      out.objects.push_back(std::move(decoded).value());
    } else {
      out.problems.push_back(decoded.error() + "; object skipped");
    }
  }
  return out;
}

}  // namespace

std::string_view guess_continue(std::string_view body) {
  // The metadata of a page is a few hundred bytes; a token is about a hundred.
  constexpr size_t kTail = 4096;
  constexpr std::string_view kKey = "\"continue\":\"";
  const std::string_view tail = body.substr(body.size() > kTail ? body.size() - kTail : 0);
  const size_t key = tail.rfind(kKey);
  if (key == std::string_view::npos) return {};
  const std::string_view rest = tail.substr(key + kKey.size());
  const size_t end = rest.find('"');
  // An escape would need decoding; Kubernetes' tokens are unpadded URL-safe base64 and have none.
  if (end == std::string_view::npos || rest.substr(0, end).find('\\') != std::string_view::npos)
    return {};
  return rest.substr(0, end);
}

}  // namespace globaldns::sync::kube
