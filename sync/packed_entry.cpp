// PackedEntry: the layout, and reading it back without building strings.
#include "sync/packed_entry.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>
#include <optional>

#include "sync/packed_bytes.hpp"
#include "sync/translate.hpp"

namespace globaldns::sync {

// The header's fields. As written: a flags byte (the resolution in bits 0-2, bit 3 when there is
// a creation time, bit 4 when it needs 8 bytes), the creation time (4 bytes for the years 1970
// to 2106, else 8), then the origin's interned number and its line as varints: 9 bytes for the
// usual file entry and 6 from Kubernetes, where fixed fields took 21 (creation time 8, the
// origin's pointer and line 12, resolution 1), which decided between a block of 64 bytes and
// one of 56 in the index's arena at 1M entries.
struct PackedEntry::Header {
  static constexpr int64_t kNoCreationTime = std::numeric_limits<int64_t>::min();
  static constexpr uint8_t kResolutionBits = 0x07;
  static constexpr uint8_t kCreated = 0x08;
  static constexpr uint8_t kCreatedWide = 0x10;
  static_assert(static_cast<uint8_t>(Resolution::Unset) <= kResolutionBits);
  // Seconds since the epoch; kNoCreationTime for none (a timestamp decodes to years 0-9999, far
  // from it).
  int64_t created_unix = kNoCreationTime;
  Origin origin;
  Resolution resolution = Resolution::Unset;

  // Bytes of the creation time behind a flags byte.
  static size_t created_size(uint8_t flags) noexcept {
    if ((flags & kCreated) == 0) return 0;
    return (flags & kCreatedWide) != 0 ? 8 : 4;
  }

  bool has_created() const noexcept { return created_unix != kNoCreationTime; }
  std::optional<int64_t> created() const noexcept {
    return has_created() ? std::optional<int64_t>(created_unix) : std::nullopt;
  }

  void write(std::string& out) const {
    auto flags = static_cast<uint8_t>(resolution);
    const bool wide =
        created_unix < 0 || created_unix > int64_t{std::numeric_limits<uint32_t>::max()};
    if (has_created()) flags |= kCreated | (wide ? kCreatedWide : 0);
    out.push_back(static_cast<char>(flags));
    if (has_created()) {
      char bytes[8];
      if (wide) {
        std::memcpy(bytes, &created_unix, 8);
        out.append(bytes, 8);
      } else {
        const auto narrow = static_cast<uint32_t>(created_unix);
        std::memcpy(bytes, &narrow, 4);
        out.append(bytes, 4);
      }
    }
    packed::put_size(out, origin.where_number());
    packed::put_size(out, origin.line());
  }
  static Header read(const char* in) noexcept {
    Header h;
    const auto flags = static_cast<uint8_t>(*in++);
    h.resolution = static_cast<Resolution>(flags & kResolutionBits);
    const size_t created = created_size(flags);
    if (created == 8) {
      std::memcpy(&h.created_unix, in, 8);
    } else if (created == 4) {
      uint32_t narrow = 0;
      std::memcpy(&narrow, in, 4);
      h.created_unix = narrow;
    }
    in += created;
    packed::Reader fields(in);
    const auto number = static_cast<uint32_t>(fields.size());
    const auto line = static_cast<uint32_t>(fields.size());
    h.origin = Origin::numbered(number, line);
    return h;
  }
  // The byte after the header at `in`.
  static const char* skip(const char* in) noexcept {
    const auto flags = static_cast<uint8_t>(*in++);
    packed::Reader fields(in + created_size(flags));
    fields.size();
    fields.size();
    return fields.position();
  }
};

namespace {

using packed::put_size;
using packed::put_text;
using packed::Reader;

const char kEmptyBody[] = {0, 0, 0, 0, 0};  // "", "", no hosts, addresses, status addresses

// spec.addresses are IPv4 dotted quads in nearly every entry: held as their 4 bytes they take 5
// bytes where the text took up to 16, and at 1M entries of about 73 bytes that is what decides
// between malloc's 96-byte chunk and its 80-byte one. Each address is a varint tag, then either
// kQuadTag and 4 bytes that print back as the text was written (no leading zeros), or an even
// tag: a text of tag / 2 bytes (IPv6, CIDR, anything else, kept as written).
constexpr size_t kQuadTag = 1;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The 4 bytes of `text` when it is a dotted quad that prints back as itself.
std::optional<std::array<uint8_t, 4>> canonical_quad(std::string_view text) {
  std::array<uint8_t, 4> out{};
  size_t i = 0;
  for (size_t part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
    const size_t start = i;
    unsigned value = 0;
    while (i < text.size() && is_digit(text[i]) && i - start < 3)
      value = value * 10 + static_cast<unsigned>(text[i++] - '0');
    const size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    out[part] = static_cast<uint8_t>(value);
  }
  if (i != text.size()) return std::nullopt;
  return out;
}

void put_address(std::string& out, std::string_view text) {
  if (const auto quad = canonical_quad(text)) {
    put_size(out, kQuadTag);
    out.append(reinterpret_cast<const char*>(quad->data()), quad->size());
  } else {
    put_size(out, 2 * text.size());
    out.append(text);
  }
}

// One address as put_address wrote it: its text, or its 4 bytes when `quad`.
struct PackedAddress {
  std::string_view bytes;
  bool quad = false;
};

PackedAddress read_address(Reader& in) {
  const size_t tag = in.size();
  if (tag == kQuadTag) return {in.bytes(4), true};
  return {in.bytes(tag / 2), false};
}

// The text the address was written as, into `out` (its capacity reused).
void address_text(const PackedAddress& address, std::string& out) {
  if (!address.quad) {
    out.assign(address.bytes);
    return;
  }
  out.clear();
  for (size_t i = 0; i < 4; ++i) {
    if (i > 0) out.push_back('.');
    const auto value = static_cast<unsigned char>(address.bytes[i]);
    if (value >= 100) out.push_back(static_cast<char>('0' + value / 100));
    if (value >= 10) out.push_back(static_cast<char>('0' + value / 10 % 10));
    out.push_back(static_cast<char>('0' + value % 10));
  }
}

bool same_address(const PackedAddress& packed, std::string_view text) {
  if (!packed.quad) return packed.bytes == text;
  const auto quad = canonical_quad(text);
  return quad && std::memcmp(quad->data(), packed.bytes.data(), 4) == 0;
}

// A reader of `body` at the count of its hosts (past namespace and name).
Reader at_hosts(const char* body) noexcept {
  Reader in(body);
  in.text();
  in.text();
  return in;
}

// A reader of `body` at the count of its addresses (past the hosts).
Reader at_addresses(const char* body) noexcept {
  Reader in = at_hosts(body);
  for (size_t n = in.size(); n > 0; --n) in.text();
  return in;
}

}  // namespace

PackedEntry::PackedEntry(const ServiceEntry& entry) {
  // One scratch buffer per thread: the block is assembled once, then copied into an allocation
  // of exactly its size.
  thread_local std::string body;
  body.clear();
  append_block(entry, body);
  char* block = new char[body.size()];
  std::copy(body.begin(), body.end(), block);
  tagged_ = block;
}

void PackedEntry::append_block(const ServiceEntry& entry, std::string& out) {
  Header{entry.created_unix.value_or(Header::kNoCreationTime), entry.origin, entry.resolution}
      .write(out);
  put_text(out, entry.namespace_);
  put_text(out, entry.name);
  put_size(out, entry.hosts.size());
  for (const auto& host : entry.hosts) put_text(out, host);
  put_size(out, entry.addresses.size());
  for (const auto& address : entry.addresses) put_address(out, address);
  put_size(out, entry.status_addresses.size());
  for (const auto& status : entry.status_addresses) {
    put_text(out, status.value);
    put_text(out, status.host);
  }
}

PackedEntry PackedEntry::borrow(const char* block) noexcept {
  assert(reinterpret_cast<uintptr_t>(block) % 2 == 0);
  PackedEntry out;
  // Never written through: a packed entry is immutable.
  out.tagged_ = const_cast<char*>(block) + 1;
  return out;
}

PackedEntry::~PackedEntry() {
  if (!borrowed()) delete[] data();
}

PackedEntry& PackedEntry::operator=(PackedEntry&& other) noexcept {
  if (this != &other) {
    if (!borrowed()) delete[] data();
    tagged_ = std::exchange(other.tagged_, nullptr);
  }
  return *this;
}

size_t PackedEntry::size_bytes() const noexcept {
  return data() == nullptr ? 0 : static_cast<size_t>(body() - data()) + body_size();
}

PackedEntry PackedEntry::copy_into(const PackedEntry& from, size_t size, char* room) noexcept {
  if (from.data() == nullptr) return PackedEntry();
  assert(size == from.size_bytes());
  std::memcpy(room, from.data(), size);
  return borrow(room);  // which checks that `room` is 2-aligned
}

PackedEntry PackedEntry::clone() const {
  PackedEntry out;
  if (data() == nullptr) return out;
  const size_t size = size_bytes();
  char* block = new char[size];
  std::memcpy(block, data(), size);
  out.tagged_ = block;
  return out;
}

PackedEntry::Header PackedEntry::header() const noexcept {
  if (data() == nullptr) return Header{};
  return Header::read(data());
}

size_t PackedEntry::body_size() const noexcept {
  // Walked, not stored: comparing two entries is rarer than holding a million.
  Reader in = at_addresses(body());
  for (size_t n = in.size(); n > 0; --n) read_address(in);
  for (size_t n = 2 * in.size(); n > 0; --n) in.text();  // status addresses: value, host
  return static_cast<size_t>(in.position() - body());
}

const char* PackedEntry::body() const noexcept {
  return data() != nullptr ? Header::skip(data()) : kEmptyBody;
}

ServiceEntry PackedEntry::unpack() const {
  ServiceEntry out;
  unpack_into(out);
  return out;
}

void PackedEntry::unpack_into(ServiceEntry& out) const {
  const Header h = header();
  Reader in(body());
  out.namespace_ = in.text();
  out.name = in.text();
  out.created_unix = h.created();
  out.hosts.resize(in.size());
  for (auto& host : out.hosts) host = in.text();
  out.addresses.resize(in.size());
  for (auto& address : out.addresses) address_text(read_address(in), address);
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
  return header().created();
}

Origin PackedEntry::origin() const noexcept {
  return header().origin;
}

Resolution PackedEntry::resolution() const noexcept {
  return header().resolution;
}

void PackedEntry::for_each_host(const std::function<void(std::string_view)>& fn) const {
  Reader in = at_hosts(body());
  for (size_t n = in.size(); n > 0; --n) fn(in.text());
}

std::string_view PackedEntry::host(size_t index) const noexcept {
  Reader in = at_hosts(body());
  in.size();
  for (; index > 0; --index) in.text();
  return in.text();
}

std::optional<size_t> PackedEntry::host_index(std::string_view host) const noexcept {
  Reader in = at_hosts(body());
  const size_t hosts = in.size();
  for (size_t i = 0; i < hosts; ++i)
    if (in.text() == host) return i;
  return std::nullopt;
}

size_t PackedEntry::address_count() const noexcept {
  return at_addresses(body()).size();
}

bool PackedEntry::addresses_as_quads(std::vector<resolver::Ipv4>& out) const {
  Reader in = at_addresses(body());
  out.resize(in.size());
  for (resolver::Ipv4& quad : out) {
    const PackedAddress address = read_address(in);
    if (!address.quad) return false;
    std::memcpy(quad.data(), address.bytes.data(), quad.size());
  }
  return true;
}

bool PackedEntry::operator==(const ServiceEntry& entry) const {
  const Header h = header();
  if (h.created() != entry.created_unix || h.resolution != entry.resolution ||
      !(h.origin == entry.origin)) {
    return false;
  }
  Reader in(body());
  if (in.text() != entry.namespace_ || in.text() != entry.name) return false;
  if (in.size() != entry.hosts.size()) return false;
  for (const auto& host : entry.hosts)
    if (in.text() != host) return false;
  if (in.size() != entry.addresses.size()) return false;
  for (const auto& address : entry.addresses)
    if (!same_address(read_address(in), address)) return false;
  if (in.size() != entry.status_addresses.size()) return false;
  for (const auto& status : entry.status_addresses)
    if (in.text() != status.value || in.text() != status.host) return false;
  return true;
}

bool PackedEntry::operator==(const PackedEntry& other) const {
  const Header a = header();
  const Header b = other.header();
  if (a.created_unix != b.created_unix || a.resolution != b.resolution || !(a.origin == b.origin))
    return false;
  const size_t size = body_size();
  return size == other.body_size() && std::memcmp(body(), other.body(), size) == 0;
}

std::weak_ordering compare_precedence(const PackedEntry& a, const PackedEntry& b) {
  // compare_precedence(const ServiceEntry&, ...)'s first fields, in its order.
  const PackedEntry::Header x = a.header();
  const PackedEntry::Header y = b.header();
  if (x.has_created() != y.has_created())
    return x.has_created() ? std::weak_ordering::less : std::weak_ordering::greater;
  if (x.has_created()) {
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
