// Conversions between a setting's text form and its typed field, with the table's checks.
#include "config/setting_value.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "config/checks.hpp"
#include "config/host_port.hpp"
#include "config/text.hpp"

namespace globaldns::config {
namespace {

template <typename T>
using Pointee = std::remove_pointer_t<T>;

// The accessor only forms a pointer to the member; callers of this overload only read through it.
Field field_of(const Setting& setting, const Config& config) {
  return setting.field(const_cast<Config&>(config));
}

// Decimal digits only: "0x1e", "+5", "1e3" and " 5" are rejected rather than half-understood.
std::optional<uint64_t> parse_integer(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<size_t> choice_index(const Setting& setting, std::string_view text) {
  auto it = std::find(setting.choices.begin(), setting.choices.end(), text);
  if (it == setting.choices.end()) return std::nullopt;
  return static_cast<size_t>(it - setting.choices.begin());
}

// Why a string does not have the setting's shape, or nothing.
std::optional<std::string> shape_error(Shape shape, std::string_view text) {
  switch (shape) {
    case Shape::Path:
      if (text.empty()) return "the path is empty";
      return std::nullopt;
    case Shape::HostPort:
      return host_port_error(text);
    case Shape::HostPortOrOff:
    case Shape::AnyHostPortOrOff:
      if (text == "off") return std::nullopt;
      if (text.size() == 3 && (text[0] | 0x20) == 'o' && (text[1] | 0x20) == 'f' &&
          (text[2] | 0x20) == 'f')
        return "write off in lower case";
      return host_port_error(
          text, shape == Shape::AnyHostPortOrOff ? EmptyHost::Any : EmptyHost::Refused);
    case Shape::DomainName:
      return domain_name_error(text);
    case Shape::Cidr:
      return cidr_error(text);
    case Shape::OptionalPath:
    case Shape::Text:
      return std::nullopt;
    case Shape::ChaosText:
      if (text.empty()) return "it is empty; off switches the answer off";
      if (text.size() > 255)
        return std::to_string(text.size()) +
               " bytes: a TXT character-string holds at most 255 (RFC 1035 §3.3.14)";
      return std::nullopt;
    case Shape::RateOrOff: {
      if (text == "off") return std::nullopt;
      const std::optional<uint64_t> rate = parse_integer(text);
      if (!rate || *rate < 1 || *rate > kMaxRate)
        return "not off, nor a whole number from 1 to " + std::to_string(kMaxRate);
      return std::nullopt;
    }
    case Shape::Word:
      if (text.empty()) return "it is empty";
      if (text.find_first_of(" \t\r\n") != std::string_view::npos) return "it contains a space";
      return std::nullopt;
  }
  return "unknown shape";
}

std::string shape_expectation(Shape shape) {
  switch (shape) {
    case Shape::Path:
      return "a file or directory path";
    case Shape::HostPort:
      return "ADDR:PORT such as 127.0.0.1:5353 or [::1]:5353";
    case Shape::DomainName:
      return "a domain name";
    case Shape::Cidr:
      return "a CIDR such as 240.0.0.0/8 or fd00::/8";
    case Shape::OptionalPath:
      return "a file path, or \"\" for none";
    case Shape::Word:
      return "a name without spaces";
    case Shape::Text:
      return "text";
    case Shape::HostPortOrOff:
      return "ADDR:PORT such as 127.0.0.1:8080 or [::1]:8080, or off";
    case Shape::AnyHostPortOrOff:
      return "ADDR:PORT such as 127.0.0.1:8053 or [::1]:8053, :PORT for every interface, or off";
    case Shape::ChaosText:
      return "auto, off, or a text of 1 to 255 bytes";
    case Shape::RateOrOff:
      return "off, or lines per second from 1 to " + std::to_string(kMaxRate);
  }
  return "a value";
}

}  // namespace

bool is_list(const Setting& setting) {
  return setting.kind == Kind::List;
}

std::string expectation(const Setting& setting) {
  switch (setting.kind) {
    case Kind::Integer:
      return "an integer from " + std::to_string(setting.min) + " to " +
             std::to_string(setting.max);
    case Kind::Choice: {
      std::string out = "one of ";
      for (size_t i = 0; i < setting.choices.size(); ++i) {
        if (i > 0) out += ", ";
        out += setting.choices[i];
      }
      return out;
    }
    case Kind::String:
    case Kind::List:
      return shape_expectation(setting.shape);
  }
  return "a value";
}

std::string allowed_values(const Setting& setting) {
  switch (setting.kind) {
    case Kind::Integer:
      return "Range: " + std::to_string(setting.min) + " to " + std::to_string(setting.max) + ".";
    case Kind::Choice: {
      std::string out = "One of:";
      for (std::string_view choice : setting.choices) {
        out += ' ';
        out += choice;
        out += ',';
      }
      out.back() = '.';
      return out;
    }
    case Kind::String:
    case Kind::List:
      return "";
  }
  return "";
}

std::optional<std::string> check_text(const Setting& setting, std::string_view text) {
  std::optional<std::string> reason;
  bool ok = false;
  switch (setting.kind) {
    case Kind::Integer: {
      std::optional<uint64_t> value = parse_integer(text);
      ok = value && *value >= setting.min && *value <= setting.max;
      break;
    }
    case Kind::Choice:
      ok = choice_index(setting, text).has_value();
      break;
    case Kind::String:
    case Kind::List:
      reason = shape_error(setting.shape, text);
      ok = !reason;
      break;
  }
  if (ok) return std::nullopt;
  std::string message = "expected " + expectation(setting) + ", got " + quote(text);
  if (reason) message += " (" + *reason + ")";
  return message;
}

std::optional<std::string> check_count(const Setting& setting, size_t count) {
  if (count >= setting.min_items) return std::nullopt;
  return "expected at least " + std::to_string(setting.min_items) + " item" +
         (setting.min_items == 1 ? "" : "s") + ", got " +
         (count == 0 ? std::string("an empty list") : std::to_string(count));
}

std::optional<std::string> store_text(const Setting& setting, std::string_view text,
                                      Config& config) {
  if (auto error = check_text(setting, text)) return error;
  std::visit(
      [&](auto* field) {
        using T = Pointee<decltype(field)>;
        if constexpr (std::is_same_v<T, bool>) {
          *field = *choice_index(setting, text) == 1;  // choices are {"false", "true"}
        } else if constexpr (std::is_integral_v<T>) {
          *field = static_cast<T>(*parse_integer(text));
        } else if constexpr (std::is_enum_v<T>) {
          *field = static_cast<T>(*choice_index(setting, text));
        } else if constexpr (std::is_same_v<T, std::string>) {
          *field = std::string(text);
        } else {
          field->emplace_back(text);
        }
      },
      setting.field(config));
  return std::nullopt;
}

void clear_list(const Setting& setting, Config& config) {
  Field field = setting.field(config);
  if (auto* list = std::get_if<std::vector<std::string>*>(&field)) (*list)->clear();
}

void copy_value(const Setting& setting, const Config& from, Config& to) {
  Field source = field_of(setting, from);
  std::visit([&](auto* target) { *target = *std::get<decltype(target)>(source); },
             setting.field(to));
}

std::vector<std::string> value_texts(const Setting& setting, const Config& config) {
  return std::visit(
      [&](auto* field) -> std::vector<std::string> {
        using T = Pointee<decltype(field)>;
        if constexpr (std::is_same_v<T, bool>) {
          return {std::string(setting.choices.at(*field ? 1 : 0))};
        } else if constexpr (std::is_integral_v<T>) {
          return {std::to_string(*field)};
        } else if constexpr (std::is_enum_v<T>) {
          auto index = static_cast<size_t>(*field);
          // An out-of-range enum (only possible from code) shows as a number, which fails checks.
          if (index >= setting.choices.size()) return {std::to_string(index)};
          return {std::string(setting.choices[index])};
        } else if constexpr (std::is_same_v<T, std::string>) {
          return {*field};
        } else {
          return *field;
        }
      },
      field_of(setting, config));
}

}  // namespace globaldns::config
