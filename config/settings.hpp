// Setting: the definition of one configuration setting, and the table of all of them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace globaldns::config {

// Where a setting's value lives in a Config. The alternative also gives the setting's type:
// an integer, a string, a list of strings, or one word from a fixed set (an enum, or a bool
// spelled "false"/"true").
using Field = std::variant<uint16_t*, uint32_t*, bool*, std::string*, std::vector<std::string>*,
                           LogLevel*, LogFormat*, ApiVersion*>;

enum class Kind { Integer, String, List, Choice };

// The kind of a Config member's type, so a setting's type follows from the member it binds.
template <typename T>
constexpr Kind kind_of() {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, std::string>) return Kind::String;
  if constexpr (std::is_same_v<U, std::vector<std::string>>) return Kind::List;
  if constexpr (std::is_enum_v<U> || std::is_same_v<U, bool>) return Kind::Choice;
  static_assert(std::is_integral_v<U> || std::is_enum_v<U> || std::is_same_v<U, std::string> ||
                std::is_same_v<U, std::vector<std::string>>);
  return Kind::Integer;
}

// The largest rate a RateOrOff setting takes.
constexpr uint32_t kMaxRate = 1000000;
// The most buckets rrl.table_size allocates (16 bytes each).
constexpr uint32_t kMaxRrlTableSize = 1u << 22;

// What a string (or each item of a list) must look like.
enum class Shape {
  Path,              // a file or directory path: any non-empty text
  HostPort,          // "127.0.0.1:53", "[::1]:53"
  DomainName,        // "global.", "globaldns.istio-system.svc.cluster.local."
  Cidr,              // "240.0.0.0/8", "fd00::/8"; host bits zero
  OptionalPath,      // a path, or "" for none
  Word,              // a name without spaces: a Kubernetes namespace or kubeconfig context
  Text,              // anything, "" included: a label selector, checked by the API server
  HostPortOrOff,     // a HostPort, or "off" to disable a listener
  AnyHostPortOrOff,  // a HostPortOrOff, or ":PORT" for every interface
  ChaosText,         // "auto", "off", or 1 to 255 bytes of text: one TXT character-string
  RateOrOff,         // "off", or a rate per second from 1 to kMaxRate
};

// One setting. The YAML loader, the command-line flags, validation, the generated example file
// and --help are all driven by these fields, so a setting is described in exactly one place.
struct Setting {
  // Path in the YAML file, sections joined by '.': "soa.mname".
  std::string_view key{};
  // Where the value lives; setting_value.hpp reads and writes it.
  Field (*field)(Config&) = nullptr;
  // Follows from the field's type.
  Kind kind = Kind::Integer;
  // As text: one element for a scalar, any number for a list.
  std::vector<std::string_view> default_value{};
  // Integers: the inclusive range.
  uint32_t min = 0;
  uint32_t max = 0;
  // Lists: the fewest items accepted.
  uint32_t min_items = 0;
  // Enums: the accepted words, in the enum's order.
  std::vector<std::string_view> choices{};
  // Strings and list items: what they must look like.
  Shape shape = Shape::Path;
  // Command-line flag without "--"; empty when the setting is file-only.
  std::string_view flag{};
  // The flag's value in --help: "SECONDS".
  std::string_view metavar{};
  // Sentences; wrapped when printed.
  std::string_view help{};
};

// A group of settings: the part of a key before the '.'.
struct Section {
  std::string_view name{};
  std::string_view help{};
};

// Every setting, in the order of the example file; a section's settings are contiguous.
std::span<const Setting> settings();
std::span<const Section> sections();

const Setting* find_setting(std::string_view key);
const Setting* find_flag(std::string_view flag);  // without "--"
const Section* find_section(std::string_view name);

}  // namespace globaldns::config
