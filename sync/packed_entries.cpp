// PackedEntries: blocks end to end, each padded to an even size.
#include "sync/packed_entries.hpp"

#include <functional>
#include <string_view>

namespace globaldns::sync {

PackedEntries::Iterator& PackedEntries::Iterator::operator++() noexcept {
  const size_t size = PackedEntry::borrow(at_).size_bytes();
  at_ += size + (size & 1);
  return *this;
}

void PackedEntries::push_back(const ServiceEntry& entry) {
  PackedEntry::append_block(entry, bytes_);
  if (bytes_.size() % 2 != 0) bytes_.push_back('\0');
  ++count_;
}

PackedEntries PackedEntries::clone() const {
  PackedEntries out;
  out.bytes_ = bytes_;
  out.count_ = count_;
  return out;
}

void PackedEntries::append(PackedEntries&& other) {
  if (empty()) {
    *this = std::move(other);
  } else {
    bytes_ += other.bytes_;  // both of even sizes: the blocks stay 2-aligned
    count_ += other.count_;
  }
  other = PackedEntries();
}

std::vector<PackedEntry> PackedEntries::borrow() const {
  std::vector<PackedEntry> out;
  out.reserve(count_);
  for (PackedEntry entry : *this) out.push_back(std::move(entry));
  return out;
}

std::vector<ServiceEntry> PackedEntries::unpack() const {
  std::vector<ServiceEntry> out;
  out.reserve(count_);
  for (const PackedEntry& entry : *this) out.push_back(entry.unpack());
  return out;
}

size_t PackedEntries::hash() const noexcept {
  return std::hash<std::string_view>{}(bytes_);
}

}  // namespace globaldns::sync
