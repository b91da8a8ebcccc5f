// `globaldns explain NAME`: why a name is or is not served, asked of a running server's
// /explain or worked out offline from the files, in the same words either way.
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "app/admin_endpoints.hpp"
#include "app/commands.hpp"
#include "app/wiring.hpp"
#include "config/flags.hpp"
#include "config/load.hpp"
#include "sync/explain.hpp"
#include "sync/file_source.hpp"
#include "sync/translation_index.hpp"

namespace globaldns::app {
namespace {

constexpr const char* kExplainUsage =
    "usage: globaldns explain NAME [--server HOST:PORT | --offline] [--json] [flags]\n"
    "Says why NAME is served (which ServiceEntry, its addresses, TTL) or every reason it is\n"
    "not (outside every zone, no entry lists it, addresses outside the allowed ranges,\n"
    "resolution NONE, lost a conflict, invalid host, empty non-terminal), and what A and\n"
    "AAAA queries get. Where the answer comes from:\n"
    "  --server HOST:PORT  the /explain of the server whose health listener is there;\n"
    "  --offline, or --files on the command line: the files, read and translated here with\n"
    "                      the zones and allowed CIDRs of the config and flags, no server;\n"
    "  otherwise           the running server at the config's health address.\n"
    "--json prints the machine-readable form.\n"
    "Exit status: 0 served, 1 not served (or nothing published yet), 2 bad usage or the\n"
    "server could not be asked.\n\n";

constexpr auto kServerTimeout = std::chrono::seconds(10);

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

// GET http://host:port/target with a deadline over the whole exchange; an error says why.
Result<HttpAnswer> http_get(const std::string& host, const std::string& port,
                            const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, host);
  request.set(http::field::connection, "close");
  http::response<http::string_body> response;
  boost::system::error_code failure;
  std::string stage = "resolving";

  resolver.async_resolve(host, port, [&](auto ec, const tcp::resolver::results_type& results) {
    if (ec) {
      failure = ec;
      return;
    }
    stage = "connecting";
    stream.expires_after(kServerTimeout);
    stream.async_connect(results, [&](auto ec2, const auto&) {
      if (ec2) {
        failure = ec2;
        return;
      }
      stage = "sending";
      http::async_write(stream, request, [&](auto ec3, size_t) {
        if (ec3) {
          failure = ec3;
          return;
        }
        stage = "reading the answer";
        http::async_read(stream, buffer, response, [&](auto ec4, size_t) { failure = ec4; });
      });
    });
  });
  io.run();
  if (failure) return Error{stage + " " + host + ":" + port + ": " + failure.message()};
  return HttpAnswer{response.result_int(), response.body()};
}

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" -> host and port; a wildcard listen address
// is asked on loopback.
std::optional<std::pair<std::string, std::string>> split_server(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return std::make_pair(host, text.substr(colon + 1));
}

int exit_for(const sync::Explanation& e) {
  return sync::is_served(e) ? 0 : 1;
}

int explain_offline(const config::Config& config, const std::string& name, bool json) {
  if (config.files.empty()) {
    std::fprintf(stderr, "globaldns: explain --offline needs ServiceEntry files (--files)\n");
    return kExitUsage;
  }
  boost::asio::io_context io;
  std::vector<sync::ServiceEntry> entries;
  sync::FileSource source(io, file_source_options(config), [&](const sync::SourceParts& change) {
    for (const auto& part : change.parts)
      for (const sync::PackedEntry& entry : part.entries) entries.push_back(entry.unpack());
  });
  if (auto loaded = source.load_initial(); !loaded) {
    std::fprintf(stderr, "globaldns: %s\n", loaded.error().c_str());
    return kExitUsage;
  }
  for (const std::string& problem : source.problems())
    std::fprintf(stderr, "globaldns: %s\n", problem.c_str());
  const sync::SyncSettings settings = sync_settings(config);
  sync::TranslationIndex index(settings.translate);
  index.load_all(std::move(entries));
  sync::Explanation explanation = sync::explain(index, name, settings.zone.ttl);
  // As `serve` would at start: a file that does not load holds every answer back.
  explanation.published = source.complete();
  const std::string text =
      json ? explanation_json(explanation) : sync::explanation_text(explanation);
  std::fputs(text.c_str(), stdout);
  return exit_for(explanation);
}

int explain_remote(const std::string& server, const std::string& name, bool json) {
  const auto host_port = split_server(server);
  if (!host_port) {
    std::fprintf(stderr, "globaldns: --server wants HOST:PORT, not \"%s\"\n", server.c_str());
    return kExitUsage;
  }
  std::string target = "/explain?name=" + url_encode(name);
  if (json) target += "&format=json";
  auto answer = http_get(host_port->first, host_port->second, target);
  if (!answer) {
    std::fprintf(stderr,
                 "globaldns: cannot ask the server: %s\n(is `globaldns serve` running with its "
                 "health listener there? --offline reads the files instead)\n",
                 answer.error().c_str());
    return kExitUsage;
  }
  const unsigned status = answer->status;
  if (status != kExplainServed && status != kExplainNotServed &&
      status != kExplainNothingPublished) {
    std::fprintf(stderr, "globaldns: %s answered HTTP %u: %s", server.c_str(), status,
                 answer->body.c_str());
    return kExitUsage;
  }
  std::fputs(answer->body.c_str(), stdout);
  return status == kExplainServed ? 0 : 1;
}

}  // namespace

int run_explain_command(const std::vector<std::string>& all_args) {
  // Our own flags first; the rest are serve's, for the config file, files and zones.
  std::vector<std::string> args;
  std::optional<std::string> server;
  bool offline = false;
  bool json = false;
  bool files_flag = false;
  for (size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    if (a == "--server" || a.rfind("--server=", 0) == 0) {
      if (a == "--server") {
        if (i + 1 == all_args.size()) {
          std::fprintf(stderr, "globaldns: --server needs HOST:PORT\n");
          return kExitUsage;
        }
        server = all_args[++i];
      } else {
        server = a.substr(9);
      }
    } else if (a == "--offline") {
      offline = true;
    } else if (a == "--json") {
      json = true;
    } else {
      files_flag = files_flag || a == "--files" || a.rfind("--files=", 0) == 0;
      args.push_back(a);
    }
  }
  config::Invocation inv = config::load(args);
  if (inv.help) {
    std::printf("%s%s", kExplainUsage, config::flags_help().c_str());
    return 0;
  }
  if (!inv.ok()) {
    for (const std::string& e : inv.errors) std::fprintf(stderr, "globaldns: %s\n", e.c_str());
    return kExitUsage;
  }
  if (inv.positional.size() != 1 || inv.positional[0].empty()) {
    std::fputs(kExplainUsage, stderr);
    return kExitUsage;
  }
  if (server && offline) {
    std::fprintf(stderr, "globaldns: explain takes --server or --offline, not both\n");
    return kExitUsage;
  }
  configure_logging(inv.config);
  // The answer is the output: the file source's info lines would only bury it.
  if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
  const std::string& name = inv.positional[0];
  if (offline || (files_flag && !server)) return explain_offline(inv.config, name, json);
  if (!server) {
    if (inv.config.health == "off") {
      std::fprintf(stderr,
                   "globaldns: the health listener is off: give --server HOST:PORT or "
                   "--offline\n");
      return kExitUsage;
    }
    server = inv.config.health;
  }
  return explain_remote(*server, name, json);
}

}  // namespace globaldns::app
