// stream_list: a state machine over Boost.JSON's parser events; any surprise declines the page.
#include "sync/kube/list_stream.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sync/service_entry.hpp"
#include "sync/yaml_decoder.hpp"

namespace globaldns::sync::kube {
namespace {

// Where the parser is: which object or array the next event belongs to.
enum class At : uint8_t {
  Root,
  RootMetadata,
  Items,
  Item,
  Metadata,
  Spec,
  Hosts,
  Addresses,
  Status,
  StatusAddresses,
  StatusAddress,
  Skipped,  // a value nobody reads, of any shape
};

// The keys decode_list() reads, told apart once per key instead of compared at every use.
enum class Key : uint8_t {
  Other,
  ApiVersion,
  Kind,
  Metadata,
  Spec,
  Status,
  Name,
  Namespace,
  CreationTimestamp,
  ResourceVersion,
  Uid,
  Hosts,
  Addresses,
  Resolution,
  Value,
  Host,
  Items,
  Continue,
  RemainingItemCount,
};

Key key_of(std::string_view text) {
  // By length, then first letter: one comparison of text a key. Comparing it with each name in
  // turn took a sixth of decoding a page (BM_StreamListPage).
  const auto is = [text](std::string_view name, Key key) {
    return text == name ? key : Key::Other;
  };
  switch (text.size()) {
    case 3:
      return is("uid", Key::Uid);
    case 4:
      switch (text[0]) {
        case 'k':
          return is("kind", Key::Kind);
        case 's':
          return is("spec", Key::Spec);
        case 'n':
          return is("name", Key::Name);
        case 'h':
          return is("host", Key::Host);
        default:
          return Key::Other;
      }
    case 5:
      switch (text[0]) {
        case 'h':
          return is("hosts", Key::Hosts);
        case 'v':
          return is("value", Key::Value);
        case 'i':
          return is("items", Key::Items);
        default:
          return Key::Other;
      }
    case 6:
      return is("status", Key::Status);
    case 8:
      return text[0] == 'm' ? is("metadata", Key::Metadata) : is("continue", Key::Continue);
    case 9:
      return text[0] == 'n' ? is("namespace", Key::Namespace) : is("addresses", Key::Addresses);
    case 10:
      return text[0] == 'a' ? is("apiVersion", Key::ApiVersion) : is("resolution", Key::Resolution);
    case 15:
      return is("resourceVersion", Key::ResourceVersion);
    case 17:
      return is("creationTimestamp", Key::CreationTimestamp);
    case 18:
      return is("remainingItemCount", Key::RemainingItemCount);
    default:
      return Key::Other;
  }
}

// The fields an item may set, each at most once.
enum Field : uint32_t {
  kApiVersion = 1U << 0,
  kKind = 1U << 1,
  kMetadata = 1U << 2,
  kSpec = 1U << 3,
  kStatus = 1U << 4,
  kName = 1U << 5,
  kNamespace = 1U << 6,
  kCreated = 1U << 7,
  kResourceVersion = 1U << 8,
  kUid = 1U << 9,
  kHosts = 1U << 10,
  kAddresses = 1U << 11,
  kResolution = 1U << 12,
  kStatusAddresses = 1U << 13,
  kValue = 1U << 14,
  kHost = 1U << 15,
};

class Handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  Handler(const Origin& origin, const std::function<void(const KubeObject&)>& each)
      : origin_(origin), each_(each) {}

  bool declined = false;
  DecodedList page;
  bool saw_kind = false;
  std::string list_kind;

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_object_begin(boost::json::error_code& ec) {
    if (stack_.empty()) return push(At::Root);
    switch (top()) {
      case At::Root:
        if (key_ == Key::Metadata) return claim_root(kRootMetadata, ec) && push(At::RootMetadata);
        if (known_key()) return fail(ec);
        return push(At::Skipped);
      case At::Items:
        object_ = KubeObject{};
        object_.entry.origin = origin_;
        item_fields_ = 0;
        return push(At::Item);
      case At::Item:
        if (key_ == Key::Metadata) return claim(kMetadata, ec) && push(At::Metadata);
        if (key_ == Key::Spec) return claim(kSpec, ec) && push(At::Spec);
        if (key_ == Key::Status) return claim(kStatus, ec) && push(At::Status);
        if (known_key()) return fail(ec);
        return push(At::Skipped);
      case At::StatusAddresses:
        address_fields_ = 0;
        object_.entry.status_addresses.emplace_back();
        return push(At::StatusAddress);
      case At::Metadata:
      case At::Spec:
      case At::Status:
      case At::RootMetadata:
      case At::StatusAddress:
        if (known_key()) return fail(ec);  // a field read as a string is an object
        return push(At::Skipped);
      case At::Skipped:
        return push(At::Skipped);
      default:
        return fail(ec);  // an object inside hosts or addresses
    }
  }

  bool on_object_end(std::size_t, boost::json::error_code& ec) {
    const At ended = top();
    stack_.pop_back();
    if (ended == At::Item) return finish_item(ec);
    if (ended == At::StatusAddress && (address_fields_ & kValue) == 0) return fail(ec);
    return true;
  }

  bool on_array_begin(boost::json::error_code& ec) {
    if (stack_.empty()) return fail(ec);
    switch (top()) {
      case At::Root:
        if (key_ == Key::Items) return claim_root(kItems, ec) && push(At::Items);
        if (known_key()) return fail(ec);
        return push(At::Skipped);
      case At::Spec:
        if (key_ == Key::Hosts) return claim(kHosts, ec) && push(At::Hosts);
        if (key_ == Key::Addresses) return claim(kAddresses, ec) && push(At::Addresses);
        if (key_ == Key::Resolution) return fail(ec);
        return push(At::Skipped);
      case At::Status:
        if (key_ == Key::Addresses) return claim(kStatusAddresses, ec) && push(At::StatusAddresses);
        return push(At::Skipped);
      case At::Metadata:
      case At::Item:
      case At::RootMetadata:
      case At::StatusAddress:
        if (known_key()) return fail(ec);
        return push(At::Skipped);
      case At::Skipped:
        return push(At::Skipped);
      default:
        return fail(ec);  // an array inside items, hosts or addresses
    }
  }

  bool on_array_end(std::size_t, boost::json::error_code&) {
    stack_.pop_back();
    return true;
  }

  bool on_key_part(boost::json::string_view part, std::size_t, boost::json::error_code&) {
    key_part_.append(part.data(), part.size());
    return true;
  }
  bool on_key(boost::json::string_view last, std::size_t, boost::json::error_code&) {
    if (key_part_.empty()) {
      key_ = key_of(std::string_view(last.data(), last.size()));
    } else {
      key_part_.append(last.data(), last.size());
      key_ = key_of(key_part_);
      key_part_.clear();
    }
    return true;
  }

  bool on_string_part(boost::json::string_view part, std::size_t, boost::json::error_code&) {
    string_part_.append(part.data(), part.size());
    return true;
  }
  bool on_string(boost::json::string_view last, std::size_t, boost::json::error_code& ec) {
    std::string_view text(last.data(), last.size());
    if (!string_part_.empty()) {
      string_part_.append(last.data(), last.size());
      text = string_part_;
    }
    const bool ok = take_string(text, ec);
    string_part_.clear();
    return ok;
  }

  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t value, boost::json::string_view, boost::json::error_code& ec) {
    if (!at_remaining_count()) return other_scalar(ec);
    page.remaining_item_count = value;
    return claim_root(kRootRemaining, ec);
  }
  // decode_list() reads remainingItemCount only as an int64; a larger or fractional one it
  // ignores.
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::json::error_code& ec) {
    return at_remaining_count() ? claim_root(kRootRemaining, ec) : other_scalar(ec);
  }
  bool on_double(double, boost::json::string_view, boost::json::error_code& ec) {
    return at_remaining_count() ? claim_root(kRootRemaining, ec) : other_scalar(ec);
  }
  bool on_bool(bool, boost::json::error_code& ec) { return other_scalar(ec); }
  bool on_null(boost::json::error_code& ec) {
    // The API server writes "creationTimestamp": null for objects built client-side.
    if (!stack_.empty() && top() == At::Metadata && key_ == Key::CreationTimestamp)
      return claim(kCreated, ec);
    return other_scalar(ec);
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code& ec) { return fail(ec); }
  bool on_comment(boost::json::string_view, boost::json::error_code& ec) { return fail(ec); }

 private:
  // Root fields, in the same bit set as nothing else uses at the root.
  static constexpr uint32_t kRootMetadata = 1U << 20;
  static constexpr uint32_t kItems = 1U << 21;
  static constexpr uint32_t kRootKind = 1U << 22;
  static constexpr uint32_t kRootVersion = 1U << 23;
  static constexpr uint32_t kRootContinue = 1U << 24;
  static constexpr uint32_t kRootRemaining = 1U << 25;

  At top() const { return stack_.back(); }
  bool push(At at) {
    stack_.push_back(at);
    return true;
  }
  bool fail(boost::json::error_code& ec) {
    declined = true;
    ec = boost::json::error::extra_data;  // any error stops the parser; the caller declines
    return false;
  }
  // Marks `field` as seen in `fields` (the root's, the item's or a status address's).
  bool claim(uint32_t& fields, uint32_t field, boost::json::error_code& ec) {
    if ((fields & field) != 0) return fail(ec);  // a key twice: decode_list() decides
    fields |= field;
    return true;
  }
  bool claim(uint32_t field, boost::json::error_code& ec) { return claim(item_fields_, field, ec); }
  bool claim_root(uint32_t field, boost::json::error_code& ec) {
    return claim(root_fields_, field, ec);
  }
  bool at_remaining_count() const {
    return !stack_.empty() && top() == At::RootMetadata && key_ == Key::RemainingItemCount;
  }
  // Whether key_, in the object on top, is one decode_list() reads (as a string or a list).
  bool known_key() const {
    switch (top()) {
      case At::Item:
        return key_ == Key::ApiVersion || key_ == Key::Kind || key_ == Key::Metadata ||
               key_ == Key::Spec || key_ == Key::Status;
      case At::Metadata:
        return key_ == Key::Name || key_ == Key::Namespace || key_ == Key::CreationTimestamp ||
               key_ == Key::ResourceVersion || key_ == Key::Uid;
      case At::Spec:
        return key_ == Key::Hosts || key_ == Key::Addresses || key_ == Key::Resolution;
      case At::Status:
        return key_ == Key::Addresses;
      case At::StatusAddress:
        return key_ == Key::Value || key_ == Key::Host;
      case At::RootMetadata:
        return key_ == Key::ResourceVersion || key_ == Key::Continue ||
               key_ == Key::RemainingItemCount;
      case At::Root:
        return key_ == Key::Kind || key_ == Key::Metadata || key_ == Key::Items;
      default:
        return false;
    }
  }
  // A number, bool or null where no string is read: fine unless decode_list() reads that key.
  bool other_scalar(boost::json::error_code& ec) {
    if (stack_.empty()) return fail(ec);
    switch (top()) {
      case At::Skipped:
        return true;
      case At::Items:
      case At::Hosts:
      case At::Addresses:
      case At::StatusAddresses:
        return fail(ec);
      default:
        return known_key() ? fail(ec) : true;
    }
  }

  bool take_string(std::string_view text, boost::json::error_code& ec) {
    if (stack_.empty()) return fail(ec);
    ServiceEntry& entry = object_.entry;
    switch (top()) {
      case At::Root:
        if (key_ == Key::Kind) {
          if (!claim_root(kRootKind, ec)) return false;
          list_kind.assign(text);
          saw_kind = true;
        }
        return true;
      case At::RootMetadata:
        if (key_ == Key::ResourceVersion) {
          if (!claim_root(kRootVersion, ec)) return false;
          page.resource_version.assign(text);
        } else if (key_ == Key::Continue) {
          if (!claim_root(kRootContinue, ec)) return false;
          page.continue_token.assign(text);
        } else if (key_ == Key::RemainingItemCount) {
          return fail(ec);
        }
        return true;
      case At::Item:
        if (key_ == Key::ApiVersion) {
          return claim(kApiVersion, ec) && (served_api_version(text) || fail(ec));
        }
        if (key_ == Key::Kind) return claim(kKind, ec) && (text == "ServiceEntry" || fail(ec));
        if (key_ == Key::Metadata || key_ == Key::Spec || key_ == Key::Status) return fail(ec);
        return true;
      case At::Metadata:
        if (key_ == Key::Name) return claim(kName, ec) && (entry.name.assign(text), true);
        if (key_ == Key::Namespace)
          return claim(kNamespace, ec) && (entry.namespace_.assign(text), true);
        if (key_ == Key::ResourceVersion) {
          return claim(kResourceVersion, ec) && (object_.resource_version.assign(text), true);
        }
        if (key_ == Key::Uid) return claim(kUid, ec) && (object_.uid.assign(text), true);
        if (key_ == Key::CreationTimestamp) {
          if (!claim(kCreated, ec)) return false;
          entry.created_unix = parse_rfc3339(text);
          return entry.created_unix.has_value() || fail(ec);  // decode_list() warns
        }
        return true;
      case At::Spec:
        if (key_ == Key::Resolution) {
          if (!claim(kResolution, ec)) return false;
          const auto parsed = parse_resolution(text);
          if (!parsed) return fail(ec);
          entry.resolution = *parsed;
          return true;
        }
        if (key_ == Key::Hosts || key_ == Key::Addresses) return fail(ec);
        return true;
      case At::Status:
        return key_ == Key::Addresses ? fail(ec) : true;
      case At::Hosts:
        entry.hosts.emplace_back(text);
        return true;
      case At::Addresses:
        entry.addresses.emplace_back(text);
        return true;
      case At::StatusAddress:
        if (key_ == Key::Value) {
          return claim(address_fields_, kValue, ec) &&
                 (entry.status_addresses.back().value.assign(text), true);
        }
        if (key_ == Key::Host) {
          return claim(address_fields_, kHost, ec) &&
                 (entry.status_addresses.back().host.assign(text), true);
        }
        return true;
      case At::Skipped:
        return true;
      default:
        return fail(ec);  // a string among items or status addresses
    }
  }

  bool finish_item(boost::json::error_code& ec) {
    ServiceEntry& entry = object_.entry;
    // Both were checked as they came; an item without them is not a ServiceEntry.
    if ((item_fields_ & kKind) == 0 || (item_fields_ & kApiVersion) == 0) return fail(ec);
    if ((item_fields_ & kMetadata) == 0 || (item_fields_ & kSpec) == 0) return fail(ec);
    if (entry.name.empty() || entry.hosts.empty()) return fail(ec);
    if (entry.namespace_.empty()) entry.namespace_ = kDefaultNamespace;
    each_(object_);
    return true;
  }

  const Origin& origin_;
  const std::function<void(const KubeObject&)>& each_;
  std::vector<At> stack_;
  Key key_ = Key::Other;
  std::string key_part_;
  std::string string_part_;
  uint32_t root_fields_ = 0;
  uint32_t item_fields_ = 0;
  uint32_t address_fields_ = 0;
  KubeObject object_;
};

}  // namespace

std::optional<DecodedList> stream_list(std::string_view body, const Origin& origin,
                                       const std::function<void(const KubeObject&)>& each,
                                       const JsonLimits& limits) {
  if (body.size() > limits.max_bytes) return std::nullopt;
  try {
    boost::json::parse_options options;
    options.max_depth = limits.max_depth;
    boost::json::basic_parser<Handler> parser(options, origin, each);
    boost::json::error_code ec;
    const size_t used = parser.write_some(false, body.data(), body.size(), ec);
    Handler& h = parser.handler();
    if (ec || h.declined || used != body.size() || !parser.done()) return std::nullopt;
    if (!h.saw_kind || (h.list_kind != "ServiceEntryList" && h.list_kind != "List")) {
      return std::nullopt;
    }
    if (h.page.resource_version.empty()) return std::nullopt;
    return std::move(h.page);
  } catch (const std::exception&) {
    return std::nullopt;  // bad_alloc: decode_list() reports it
  }
}

}  // namespace globaldns::sync::kube
