// trim_space: strips the whitespace that files such as a service-account token end with.
#pragma once

#include <string>

namespace globaldns::sync::kube {

inline std::string trim_space(std::string s) {
  constexpr const char* kSpace = " \t\r\n\v\f";
  const std::size_t end = s.find_last_not_of(kSpace);
  if (end == std::string::npos) return {};
  s.erase(end + 1);
  s.erase(0, s.find_first_not_of(kSpace));
  return s;
}

}  // namespace globaldns::sync::kube
