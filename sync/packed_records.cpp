// PackedRecords: the layout, and reading it back.
#include "sync/packed_records.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "sync/packed_bytes.hpp"

namespace globaldns::sync {
namespace {

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
  bytes_.fill(0);
  if (body.size() < kSize) {
    std::copy(body.begin(), body.end(), bytes_.begin());
    return;
  }
  char* heap = new char[body.size()];
  std::copy(body.begin(), body.end(), heap);
  std::memcpy(bytes_.data(), &heap, sizeof heap);
  bytes_[kSize - 1] = 1;
}

PackedRecords::PackedRecords(PackedRecords&& other) noexcept : bytes_(other.bytes_) {
  other.bytes_.fill(0);
}

PackedRecords& PackedRecords::operator=(PackedRecords&& other) noexcept {
  if (this != &other) {
    release();
    bytes_ = other.bytes_;
    other.bytes_.fill(0);
  }
  return *this;
}

PackedRecords::~PackedRecords() {
  release();
}

void PackedRecords::release() noexcept {
  if (!on_heap()) return;
  char* heap = nullptr;
  std::memcpy(&heap, bytes_.data(), sizeof heap);
  delete[] heap;
  bytes_.fill(0);
}

const char* PackedRecords::block() const noexcept {
  if (!on_heap()) return bytes_.data();
  const char* heap = nullptr;
  std::memcpy(&heap, bytes_.data(), sizeof heap);
  return heap;
}

std::string_view PackedRecords::name() const noexcept {
  return packed::Reader(block()).text();
}

size_t PackedRecords::address_count() const noexcept {
  packed::Reader in(block());
  in.text();
  const size_t v4 = in.size();
  in.bytes(v4 * sizeof(resolver::Ipv4));
  return v4 + in.size();
}

void PackedRecords::unpack_into(resolver::HostRecords& out) const {
  packed::Reader in(block());
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
