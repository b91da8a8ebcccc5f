// PackedEntry: the layout, and reading it back without building strings.
#include "sync/packed_entry.hpp"

#include <cstring>
#include <new>
#include <type_traits>

#include "sync/packed_bytes.hpp"
#include "sync/translate.hpp"

namespace globaldns::sync {

struct PackedEntry::Header {
  int64_t created_unix = 0;
  Origin origin;
  bool has_created = false;
  Resolution resolution = Resolution::Unset;
  uint32_t body_size = 0;  // in what was padding: two bodies then compare with one memcmp
};

namespace {

static_assert(std::is_trivially_destructible_v<Origin>, "a Header is never destroyed");
static_assert(std::is_trivially_copyable_v<Origin>);

using packed::put_size;
using packed::put_text;
using packed::Reader;

const char kEmptyBody[] = {0, 0, 0, 0, 0};  // "", "", no hosts, addresses, status addresses

}  // namespace

PackedEntry::PackedEntry(const ServiceEntry& entry) {
  // One scratch buffer per thread: the body is assembled once, then copied into an allocation
  // of exactly its size.
  thread_local std::string body;
  body.clear();
  put_text(body, entry.namespace_);
  put_text(body, entry.name);
  put_size(body, entry.hosts.size());
  for (const auto& host : entry.hosts) put_text(body, host);
  put_size(body, entry.addresses.size());
  for (const auto& address : entry.addresses) put_text(body, address);
  put_size(body, entry.status_addresses.size());
  for (const auto& status : entry.status_addresses) {
    put_text(body, status.value);
    put_text(body, status.host);
  }
  bytes_ = std::make_unique_for_overwrite<char[]>(sizeof(Header) + body.size());
  new (bytes_.get())
      Header{entry.created_unix.value_or(0), entry.origin, entry.created_unix.has_value(),
             entry.resolution, static_cast<uint32_t>(body.size())};
  std::memcpy(bytes_.get() + sizeof(Header), body.data(), body.size());
}

const PackedEntry::Header* PackedEntry::header() const noexcept {
  static const Header empty{0, Origin(), false, Resolution::Unset, sizeof(kEmptyBody)};
  if (!bytes_) return &empty;
  return std::launder(reinterpret_cast<const Header*>(bytes_.get()));
}

const char* PackedEntry::body() const noexcept {
  return bytes_ ? bytes_.get() + sizeof(Header) : kEmptyBody;
}

ServiceEntry PackedEntry::unpack() const {
  ServiceEntry out;
  unpack_into(out);
  return out;
}

void PackedEntry::unpack_into(ServiceEntry& out) const {
  const Header& h = *header();
  Reader in(body());
  out.namespace_ = in.text();
  out.name = in.text();
  out.created_unix = h.has_created ? std::optional<int64_t>(h.created_unix) : std::nullopt;
  out.hosts.resize(in.size());
  for (auto& host : out.hosts) host = in.text();
  out.addresses.resize(in.size());
  for (auto& address : out.addresses) address = in.text();
  out.status_addresses.resize(in.size());
  for (auto& status : out.status_addresses) {
    status.value = in.text();
    status.host = in.text();
  }
  out.resolution = h.resolution;
  out.origin = h.origin;
}

std::string_view PackedEntry::namespace_() const noexcept {
  return Reader(body()).text();
}

std::string_view PackedEntry::name() const noexcept {
  Reader in(body());
  in.text();
  return in.text();
}

std::string PackedEntry::key() const {
  Reader in(body());
  const std::string_view namespace_ = in.text();
  const std::string_view name = in.text();
  std::string out;
  out.reserve(namespace_.size() + 1 + name.size());
  out += namespace_;
  out += '/';
  out += name;
  return out;
}

std::optional<int64_t> PackedEntry::created_unix() const noexcept {
  const Header& h = *header();
  return h.has_created ? std::optional<int64_t>(h.created_unix) : std::nullopt;
}

Origin PackedEntry::origin() const noexcept {
  return header()->origin;
}

Resolution PackedEntry::resolution() const noexcept {
  return header()->resolution;
}

void PackedEntry::for_each_host(const std::function<void(std::string_view)>& fn) const {
  Reader in(body());
  in.text();
  in.text();
  for (size_t n = in.size(); n > 0; --n) fn(in.text());
}

bool PackedEntry::operator==(const ServiceEntry& entry) const {
  const Header& h = *header();
  if (h.has_created != entry.created_unix.has_value() || h.resolution != entry.resolution ||
      (h.has_created && h.created_unix != *entry.created_unix) || !(h.origin == entry.origin)) {
    return false;
  }
  Reader in(body());
  if (in.text() != entry.namespace_ || in.text() != entry.name) return false;
  if (in.size() != entry.hosts.size()) return false;
  for (const auto& host : entry.hosts)
    if (in.text() != host) return false;
  if (in.size() != entry.addresses.size()) return false;
  for (const auto& address : entry.addresses)
    if (in.text() != address) return false;
  if (in.size() != entry.status_addresses.size()) return false;
  for (const auto& status : entry.status_addresses)
    if (in.text() != status.value || in.text() != status.host) return false;
  return true;
}

bool PackedEntry::operator==(const PackedEntry& other) const {
  const Header& a = *header();
  const Header& b = *other.header();
  // Field by field: a header's padding bytes are never written.
  return a.has_created == b.has_created && (!a.has_created || a.created_unix == b.created_unix) &&
         a.resolution == b.resolution && a.origin == b.origin && a.body_size == b.body_size &&
         std::memcmp(body(), other.body(), a.body_size) == 0;
}

std::weak_ordering compare_precedence(const PackedEntry& a, const PackedEntry& b) {
  // compare_precedence(const ServiceEntry&, ...)'s first fields, in its order.
  const PackedEntry::Header& x = *a.header();
  const PackedEntry::Header& y = *b.header();
  if (x.has_created != y.has_created)
    return x.has_created ? std::weak_ordering::less : std::weak_ordering::greater;
  if (x.has_created) {
    if (const auto c = x.created_unix <=> y.created_unix; c != 0) return c;
  }
  Reader ra(a.body());
  Reader rb(b.body());
  if (const auto c = ra.text() <=> rb.text(); c != 0) return c;  // namespace
  if (const auto c = ra.text() <=> rb.text(); c != 0) return c;  // name
  if (const auto c = x.origin <=> y.origin; c != 0) return c;
  return compare_precedence(a.unpack(), b.unpack());
}

}  // namespace globaldns::sync
