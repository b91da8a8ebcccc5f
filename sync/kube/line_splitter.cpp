// LineSplitter's cold paths: errors and buffer release.
#include "sync/kube/line_splitter.hpp"

namespace globaldns::sync::kube {
namespace {

// One large object must not pin its buffer for the life of the watch.
constexpr size_t kKeepCapacity = size_t{1} << 20;

}  // namespace

void LineSplitter::reset() {
  failed_ = false;
  partial_.clear();
  partial_.shrink_to_fit();
}

Result<Ok> LineSplitter::too_long(size_t size) {
  failed_ = true;
  partial_.clear();
  partial_.shrink_to_fit();
  return Error{"watch stream: a line of at least " + std::to_string(size) +
               " bytes exceeds the limit of " + std::to_string(max_line_)};
}

Result<Ok> LineSplitter::failed_error() const {
  return Error{"watch stream: framing lost after an over-long line; reconnect"};
}

void LineSplitter::release_partial() {
  partial_.clear();
  if (partial_.capacity() > kKeepCapacity) partial_.shrink_to_fit();
}

}  // namespace globaldns::sync::kube
