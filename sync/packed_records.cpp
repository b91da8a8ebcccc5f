// PackedRecords: the layout, and reading it back.
#include "sync/packed_records.hpp"

#include <cstring>
#include <string>

#include "sync/packed_bytes.hpp"

namespace globaldns::sync {
namespace {

const char kEmpty[] = {0, 0, 0};  // no name, no IPv4, no IPv6 address

template <typename Address>
void put_addresses(std::string& out, const std::vector<Address>& addresses) {
  packed::put_size(out, addresses.size());
  for (const auto& address : addresses) {
    out.append(reinterpret_cast<const char*>(address.data()), address.size());
  }
}

template <typename Address>
void read_addresses(packed::Reader& in, std::vector<Address>& out) {
  out.resize(in.size());
  for (auto& address : out) {
    const std::string_view bytes = in.bytes(address.size());
    std::memcpy(address.data(), bytes.data(), address.size());
  }
}

}  // namespace

PackedRecords::PackedRecords(const resolver::HostRecords& records) {
  thread_local std::string body;
  body.clear();
  packed::put_text(body, records.name);
  put_addresses(body, records.v4);
  put_addresses(body, records.v6);
  bytes_ = std::make_unique_for_overwrite<char[]>(body.size());
  std::memcpy(bytes_.get(), body.data(), body.size());
}

std::string_view PackedRecords::name() const noexcept {
  return packed::Reader(bytes_ ? bytes_.get() : kEmpty).text();
}

size_t PackedRecords::address_count() const noexcept {
  packed::Reader in(bytes_ ? bytes_.get() : kEmpty);
  in.text();
  const size_t v4 = in.size();
  in.bytes(v4 * sizeof(resolver::Ipv4));
  return v4 + in.size();
}

void PackedRecords::unpack_into(resolver::HostRecords& out) const {
  packed::Reader in(bytes_ ? bytes_.get() : kEmpty);
  out.name = in.text();
  read_addresses(in, out.v4);
  read_addresses(in, out.v6);
}

resolver::HostRecords PackedRecords::unpack() const {
  resolver::HostRecords out;
  unpack_into(out);
  return out;
}

}  // namespace globaldns::sync
