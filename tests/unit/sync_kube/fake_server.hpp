// Test support: the fake kube-apiserver (tests/fake_kube) as a child process, stopped with SIGTERM.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace globaldns::sync::kube::fakes {

namespace fake_kube_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The bearer token the fake accepts unless a test rotates it.
inline constexpr const char* kToken = "t1";

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class FakeServer {
 public:
  // `extra`: more fake_apiserver.py flags, e.g. {"--versions", "v1beta1", "--preferred", ...}.
  bool start(const fs::path& certs, const std::vector<std::string>& extra = {}) {
    int pipefd[2];
    if (pipe(pipefd) != 0) return false;
    const std::string script =
        std::string(GLOBALDNS_SOURCE_DIR).append("/tests/fake_kube/fake_apiserver.py");
    const std::string certs_dir = certs.string();
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(pipefd[1], STDOUT_FILENO);
      close(pipefd[0]);
      close(pipefd[1]);
      std::vector<std::string> args = {"python3", script,    "--certs-dir",
                                       certs_dir, "--token", kToken};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/usr/bin/python3", argv.data());
      _exit(127);
    }
    close(pipefd[1]);
    std::string line;
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd pfd{pipefd[0], POLLIN, 0};
      if (poll(&pfd, 1, 200) <= 0) continue;
      char buf[256];
      const ssize_t n = read(pipefd[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(pipefd[0]);
    return std::sscanf(line.c_str(), "READY api=%d control=%d", &api_, &control_) == 2;
  }

  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  // POST a JSON body to the control port; returns the response body ("" on failure).
  std::string control(const std::string& path, const std::string& body) const {
    try {
      asio::io_context io;
      asio::ip::tcp::socket socket(io);
      socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(control_)});
      http::request<http::string_body> req{http::verb::post, path, 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      http::write(socket, req);
      beast::flat_buffer buffer;
      http::response<http::string_body> res;
      http::read(socket, buffer, res);
      return res.body();
    } catch (const std::exception&) {
      return {};
    }
  }

  int api() const { return api_; }

 private:
  pid_t pid_ = -1;
  int api_ = 0;
  int control_ = 0;
};

}  // namespace fake_kube_detail

using fake_kube_detail::FakeServer;
using fake_kube_detail::kToken;

}  // namespace globaldns::sync::kube::fakes
