// export_zone_text: a snapshot as RFC 1035 master-file lines, decoded by ldns from the served
// bytes.
#pragma once

#include <string>

namespace globaldns::resolver {
class Snapshot;
}

namespace globaldns::app {

// Decodes each pre-encoded RRset with ldns, the reference implementation, so what it prints is
// what a client would read, not what we meant to write.
std::string export_zone_text(const resolver::Snapshot& snapshot);

}  // namespace globaldns::app
