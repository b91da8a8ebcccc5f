// Test support: starts the real globaldns binary on a free loopback port and stops it by PID.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace globaldns::testing {

// A port free on 127.0.0.1 for both UDP and TCP at the time of asking.
inline uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    const bool ok = bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(t);
    close(u);
    if (ok) return ntohs(a.sin_port);
  }
  throw std::runtime_error("no free port");
}

// Runs a shell command and returns its stdout+stderr (bounded by `timeout` seconds).
inline std::string run_command(const std::string& cmd, int* exit_code = nullptr, int timeout = 10) {
  const std::string full = "timeout " + std::to_string(timeout) + " " + cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

struct HttpReply {
  int status = 0;  // 0: no response (refused, closed, timed out)
  std::string body;
};

// GET http://127.0.0.1:<port><path> with Connection: close; gives up after `timeout`.
inline HttpReply http_get(uint16_t port, const std::string& path,
                          std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  HttpReply reply;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return reply;
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return reply;
  }
  std::string raw;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::atoi(raw.c_str() + 9);
  reply.body = raw.substr(end + 4);
  return reply;
}

class ServerProcess {
 public:
  // `args` follow "globaldns"; "--listen 127.0.0.1:<port>" is added unless `listen` is false.
  // /health, /ready and /metrics go on ephemeral ports (see http_port()) unless `args` place
  // them, so that parallel runs never fight over 8080, 8181 and 9153; gRPC is off (its default
  // is every interface's 8053) unless `args` ask for it, e.g. "--grpc 127.0.0.1:0" (see
  // grpc_port()); and unless `args` ask for lameduck, SIGTERM stops at once rather than after
  // the default 5 s.
  ServerProcess(const std::string& binary, std::vector<std::string> args,
                const std::filesystem::path& log_path, bool add_listen = true)
      : port_(free_port()), log_path_(log_path) {
    if (add_listen) {
      args.push_back("--listen");
      args.push_back("127.0.0.1:" + std::to_string(port_));
    }
    const std::pair<const char*, const char*> defaults[] = {{"--health", "127.0.0.1:0"},
                                                            {"--ready", "127.0.0.1:0"},
                                                            {"--metrics", "127.0.0.1:0"},
                                                            {"--grpc", "off"},
                                                            {"--lameduck-ms", "0"}};
    for (const auto& [flag, value] : defaults) {
      bool given = false;
      for (const std::string& a : args)
        given = given || a == flag ||
                (a.size() > std::strlen(flag) && a.compare(0, std::strlen(flag), flag) == 0 &&
                 a[std::strlen(flag)] == '=');
      if (!given) {
        args.push_back(flag);
        args.push_back(value);
      }
    }
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ~ServerProcess() { stop(); }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0) return false;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }
  void signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  // SIGTERM, then SIGKILL after 10 s. Returns the exit status (as waitpid gives it).
  std::optional<int> stop() {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = status;
        return exit_status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_status_ = status;
    return exit_status_;
  }
  // The port of the HTTP listener serving `path`, from the log line
  // "serving HTTP on 127.0.0.1:PORT (/health /ready)"; 0 when it does not appear in `timeout`.
  uint16_t http_port(const std::string& path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string marker = "serving HTTP on ";
    do {
      std::istringstream lines(log());
      std::string line;
      while (std::getline(lines, line)) {
        const size_t at = line.find(marker);
        if (at == std::string::npos) continue;
        const size_t open = line.find(" (", at);
        const size_t close = line.find(')', open);
        if (open == std::string::npos || close == std::string::npos) continue;
        std::string paths(1, ' ');
        paths.append(line, open + 2, close - open - 2).push_back(' ');
        std::string wanted(1, ' ');
        wanted.append(path).push_back(' ');
        if (paths.find(wanted) == std::string::npos) continue;
        const size_t colon = line.rfind(':', open);
        return static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return 0;
  }

  // The bound gRPC port, from the log line "serving gRPC on 127.0.0.1:PORT (plaintext)"; 0 when
  // it does not appear in `timeout`.
  uint16_t grpc_port(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string marker = "serving gRPC on ";
    do {
      const std::string text = log();
      const size_t at = text.find(marker);
      const size_t open = at == std::string::npos ? at : text.find(" (", at);
      if (open != std::string::npos) {
        const size_t colon = text.rfind(':', open);
        return static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return 0;
  }

  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  uint16_t port_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace globaldns::testing
