// Tests of GrpcServer's start-up contract: bound port, clear errors, idempotent stop.
#include "dns/grpc/grpc_server.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "resolver/snapshot_holder.hpp"

namespace globaldns::dns {
namespace {

TEST(GrpcServer, PortZeroBindsAFreePortAndStopIsIdempotent) {
  resolver::SnapshotHolder holder;
  GrpcServer server(holder);
  EXPECT_EQ(server.port(), 0);
  GrpcServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  ASSERT_TRUE(server.start(options).ok());
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(server.port()));
  server.stop();
  server.stop();
}

// gRPC would share a port through SO_REUSEPORT; we switch that off, so a second server fails.
TEST(GrpcServer, PortInUseIsAnErrorNamingTheAddress) {
  resolver::SnapshotHolder holder;
  GrpcServer first(holder);
  GrpcServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  ASSERT_TRUE(first.start(options).ok());
  options.port = first.port();
  GrpcServer second(holder);
  Result<Ok> started = second.start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error(),
            "cannot serve gRPC on " + first.address() + ": Address already in use");
}

TEST(GrpcServer, TlsFilesThatAreNotPemAreNamed) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("globaldns-grpc-server-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cert.pem") << "not a certificate\n";
  std::ofstream(dir / "key.pem") << "not a key\n";
  resolver::SnapshotHolder holder;
  GrpcServer server(holder);
  GrpcServerOptions options;
  options.host = "::1";
  options.port = 0;
  options.tls.cert = (dir / "cert.pem").string();
  options.tls.key = (dir / "key.pem").string();
  Result<Ok> started = server.start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error(), "cannot serve gRPC on [::1]:0: grpc_tls.cert " + options.tls.cert +
                                 ": no PEM certificate in it");
  options.tls.cert = (dir / "missing.pem").string();
  started = server.start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error(), "cannot serve gRPC on [::1]:0: grpc_tls.cert " + options.tls.cert +
                                 ": cannot read: No such file or directory");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace globaldns::dns
