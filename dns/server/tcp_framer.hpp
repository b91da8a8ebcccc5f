// TcpFramer: one TCP connection's input split into DNS messages (RFC 1035 §4.2.2, RFC 7766 §8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace globaldns::dns {

// Bytes in, whole messages out; no sockets, so the framing is testable and fuzzable alone.
// Each message is a two-byte big-endian length and that many bytes. The buffer is allocated
// once and never grows: kCapacity always holds one whole frame, so a full buffer always starts
// with a complete one, and a client cannot make the connection buffer more than that.
class TcpFramer {
 public:
  static constexpr size_t kCapacity = 2 + 65535;

  enum class Status {
    Message,   // `message` is the next whole message
    NeedMore,  // the buffered bytes (if any) are only part of a frame
    End,       // a zero-length frame: not a query, the client is done
  };

  TcpFramer();

  // Where received bytes go; empty only when full(). commit() says how many were written.
  std::span<uint8_t> space() noexcept { return {buffer_.get() + size_, kCapacity - size_}; }
  void commit(size_t bytes) noexcept { size_ += bytes; }
  bool full() const noexcept { return size_ == kCapacity; }

  // The next whole message after those already handed out. `message` stays valid until
  // compact() or the next space() write. End repeats once reached; nothing is consumed then.
  Status next(std::span<const uint8_t>& message) noexcept;

  // Drops the messages handed out, moving a partial frame to the front of the buffer.
  void compact() noexcept;

  // Bytes held: those of handed-out messages until compact(), and those not yet framed.
  size_t size() const noexcept { return size_; }

 private:
  std::unique_ptr<uint8_t[]> buffer_;
  size_t size_ = 0;
  size_t offset_ = 0;  // the first byte not handed out
};

}  // namespace globaldns::dns
