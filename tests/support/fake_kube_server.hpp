// Test support: the fake kube-apiserver (tests/fake_kube) as a child process, stopped by PID.
// Shared by the sync/kube unit tests and the end-to-end tests of `globaldns serve`.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace globaldns::testing {

// The bearer token the fake accepts unless a test rotates it.
inline constexpr const char* kFakeKubeToken = "t1";

struct FakeKubeOptions {
  // --token values; the fake accepts these until /tokens replaces them.
  std::vector<std::string> tokens{kFakeKubeToken};
  // The API port to bind; 0 picks a free one.
  int api_port = 0;
  // Where the fake's stderr goes (empty: inherited). Set FAKE_KUBE_VERBOSE=1 to fill it.
  std::filesystem::path log_path;
  // More fake_apiserver.py flags, e.g. {"--versions", "v1beta1", "--preferred", "v1beta1"}.
  std::vector<std::string> extra_args;
};

class FakeKubeServer {
 public:
  FakeKubeServer() = default;
  FakeKubeServer(const FakeKubeServer&) = delete;
  FakeKubeServer& operator=(const FakeKubeServer&) = delete;
  ~FakeKubeServer() { stop(); }

  // Starts the fake with --certs-dir `certs` (generated there by make_certs.sh if missing) and
  // waits, at most 20 s, for its "READY api=<port> control=<port>" line.
  bool start(const std::filesystem::path& certs, const FakeKubeOptions& options = {}) {
    int pipefd[2];
    if (pipe(pipefd) != 0) return false;
    const std::string script =
        std::string(GLOBALDNS_SOURCE_DIR).append("/tests/fake_kube/fake_apiserver.py");
    std::vector<std::string> args{"python3", script, "--certs-dir", certs.string()};
    for (const std::string& token : options.tokens) {
      args.push_back("--token");
      args.push_back(token);
    }
    if (options.api_port != 0) {
      args.push_back("--api-port");
      args.push_back(std::to_string(options.api_port));
    }
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    const std::string log = options.log_path.string();
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(pipefd[1], STDOUT_FILENO);
      close(pipefd[0]);
      close(pipefd[1]);
      if (!log.empty()) {
        const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      // Debian's interpreter, not a pyenv one first in PATH.
      execv("/usr/bin/python3", argv.data());
      _exit(127);
    }
    close(pipefd[1]);
    std::string line;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
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

  // SIGTERM (a stopped process is continued first so that it can exit), then waits.
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      kill(pid_, SIGCONT);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  // POST a JSON body to the control port; returns the response body ("" on failure).
  std::string control(const std::string& path, const std::string& body,
                      int timeout_seconds = 60) const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return {};
    timeval tv{timeout_seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(control_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::string request = "POST ";
      request.append(path)
          .append(
              " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              "Connection: close\r\nContent-Length: ")
          .append(std::to_string(body.size()))
          .append("\r\n\r\n")
          .append(body);
      size_t sent = 0;
      while (sent < request.size()) {
        const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      char buf[65536];
      for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    const size_t head = out.find("\r\n\r\n");
    return head == std::string::npos ? std::string() : out.substr(head + 4);
  }

  int api() const { return api_; }
  int control_port() const { return control_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int api_ = 0;
  int control_ = 0;
};

}  // namespace globaldns::testing
