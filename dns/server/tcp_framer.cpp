// TcpFramer: the length-prefix arithmetic and the compaction of a partial frame.
#include "dns/server/tcp_framer.hpp"

#include <cstring>

namespace globaldns::dns {

TcpFramer::TcpFramer() : buffer_(std::make_unique_for_overwrite<uint8_t[]>(kCapacity)) {}

TcpFramer::Status TcpFramer::next(std::span<const uint8_t>& message) noexcept {
  const size_t available = size_ - offset_;
  if (available < 2) return Status::NeedMore;
  const size_t length = (size_t{buffer_[offset_]} << 8) | buffer_[offset_ + 1];
  if (length == 0) return Status::End;
  if (available - 2 < length) return Status::NeedMore;
  message = {buffer_.get() + offset_ + 2, length};
  offset_ += 2 + length;
  return Status::Message;
}

void TcpFramer::compact() noexcept {
  if (offset_ == 0) return;
  std::memmove(buffer_.get(), buffer_.get() + offset_, size_ - offset_);
  size_ -= offset_;
  offset_ = 0;
}

}  // namespace globaldns::dns
