// The subcommands of the globaldns binary.
#pragma once

#include <string>
#include <vector>

namespace globaldns::app {

// Each takes the arguments after the subcommand and returns the process exit code.
int run_serve_command(const std::vector<std::string>& args);
int run_check_command(const std::vector<std::string>& args);
// Exit codes of its own: 0 the name is served, 1 it is not, 2 bad usage or no answer.
int run_explain_command(const std::vector<std::string>& args);
int run_corefile_patch_command(const std::vector<std::string>& args);

// Exit codes: 0 fine, 1 runtime failure (port in use, unreadable files), 2 bad usage or config.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace globaldns::app
