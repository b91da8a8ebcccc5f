// Fuzz target tcp_framing: a DNS-over-TCP byte stream, split into reads as the input says, fed
// through dns::TcpFramer the way TcpConnection does (read only while there is room, take
// frames, compact). The frames handed out must be exactly those a one-shot split of the whole
// stream gives, in order and byte for byte, up to a zero-length frame or the end; never a
// partial one; the buffer never over its bound; a full buffer always starts with a whole frame.
// Each frame is answered by resolver::answer over TCP, and the response must fit its prefix.
//
// Input: byte 0 = (frames per turn << 4) | chunk count; frames per turn (0: all) stands in for
// the output high-water mark that stops TcpConnection taking frames. Then `chunk count`
// two-byte big-endian read sizes, used in turn (0, or no sizes at all: as much as fits). The
// rest is the stream.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "dns/server/tcp_framer.hpp"
#include "dns/wire/constants.hpp"
#include "resolver/answer.hpp"
#include "resolver/snapshot.hpp"
#include "tests/fuzz/test_zone_snapshot.hpp"

namespace {

namespace r = globaldns::resolver;
namespace w = globaldns::dns::wire;
using globaldns::dns::TcpFramer;

[[noreturn]] void fail(const char* what) {
  globaldns::fuzz::fail("tcp_framing", what);
}

const r::Snapshot* snapshot() {
  return globaldns::fuzz::test_zone_snapshot();
}

// The one-shot split: every whole frame of `stream`, where each ends, and whether a
// zero-length frame stopped it.
struct Reference {
  std::vector<std::span<const uint8_t>> frames;
  std::vector<size_t> ends;
  size_t consumed = 0;  // bytes of the whole frames
  bool ended = false;
};

Reference split(std::span<const uint8_t> stream) {
  Reference ref;
  size_t at = 0;
  while (stream.size() - at >= 2) {
    const size_t length = w::load16(stream.data() + at);
    if (length == 0) {
      ref.ended = true;
      break;
    }
    if (stream.size() - at - 2 < length) break;
    ref.frames.push_back(stream.subspan(at + 2, length));
    at += 2 + length;
    ref.ends.push_back(at);
  }
  ref.consumed = at;
  return ref;
}

void answer(std::span<const uint8_t> query) {
  static std::vector<uint8_t> out(w::kTcpLimit);
  const r::AnswerResult res = r::answer(snapshot(), query, out, r::Transport::Tcp);
  if (res.outcome == r::Outcome::Drop) {
    if (res.size != 0) fail("a drop wrote bytes");
    return;
  }
  if (res.size < w::kHeaderSize) fail("a response shorter than a header");
  if (res.size > out.size()) fail("a response larger than the buffer");
  if (w::load16(out.data()) != w::load16(query.data())) fail("response ID differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned per_turn = data[0] >> 4;
  const size_t chunk_count = std::min<size_t>(data[0] & 0x0f, (size - 1) / 2);
  const std::span<const uint8_t> chunks(data + 1, 2 * chunk_count);
  const std::span<const uint8_t> stream(data + 1 + 2 * chunk_count, size - 1 - 2 * chunk_count);
  const Reference ref = split(stream);

  TcpFramer framer;
  size_t received = 0;  // stream bytes read so far
  size_t handed = 0;    // frames handed out so far
  size_t read_count = 0;
  bool ended = false;
  for (;;) {
    bool progressed = false;
    if (!framer.full() && received < stream.size()) {
      const std::span<uint8_t> space = framer.space();
      if (space.empty()) fail("no space in a buffer that is not full");
      size_t want = space.size();
      if (chunk_count != 0) {
        const size_t i = read_count % chunk_count;
        const size_t sized = w::load16(chunks.data() + 2 * i);
        if (sized != 0) want = sized;
      }
      const size_t n = std::min({want, space.size(), stream.size() - received});
      std::memcpy(space.data(), stream.data() + received, n);
      framer.commit(n);
      received += n;
      ++read_count;
      progressed = true;
      if (framer.size() > TcpFramer::kCapacity) fail("buffer over its bound");
    }
    const bool full_after_read = framer.full();
    unsigned taken = 0;
    while (per_turn == 0 || taken < per_turn) {
      std::span<const uint8_t> message;
      const TcpFramer::Status status = framer.next(message);
      if (status == TcpFramer::Status::End) {
        if (!ref.ended || handed != ref.frames.size()) fail("end of stream where there is none");
        ended = true;
        break;
      }
      if (status == TcpFramer::Status::NeedMore) {
        if (taken == 0 && full_after_read) fail("a full buffer without a whole frame");
        break;
      }
      if (handed >= ref.frames.size()) fail("more frames than the stream holds");
      const std::span<const uint8_t> expected = ref.frames[handed];
      if (ref.ends[handed] > received) fail("a frame handed out before all of it was read");
      if (message.size() != expected.size() ||
          !std::equal(message.begin(), message.end(), expected.begin()))
        fail("a frame differs from the one-shot split");
      answer(message);
      ++handed;
      ++taken;
      progressed = true;
    }
    if (ended) break;
    framer.compact();
    if (!progressed) break;
  }
  if (received != stream.size() && !ended) fail("stopped reading before the end");
  if (handed != ref.frames.size()) fail("fewer frames than the stream holds");
  if (ref.ended != ended) fail("missed the zero-length frame");
  if (!ended && framer.size() != stream.size() - ref.consumed)
    fail("the partial frame left over is not the stream's tail");
  return 0;
}
