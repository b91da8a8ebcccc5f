// `globaldns query`: a dig-like diagnostic built on ldns, the reference implementation.
#pragma once

#include <string>
#include <vector>

namespace globaldns::app {

// args: NAME [TYPE] [@SERVER] [-p PORT] [+tcp] [+norec] [+edns=SIZE]. Prints the response as
// ldns renders it; returns the process exit code (0 answered, 1 usage or network error).
int run_query_command(const std::vector<std::string>& args);

}  // namespace globaldns::app
