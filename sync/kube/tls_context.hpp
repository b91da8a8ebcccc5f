// The TLS client context for one API server, built from ClusterCredentials.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "resolver/result.hpp"
#include "sync/kube/credentials.hpp"

namespace globaldns::sync::kube {

// The TLS 1.3 cipher suites offered, in order of preference.
inline constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// TLS 1.2+ (TLS 1.3 with kTls13Suites); trusts ca_pem (or the system store when none); verifies the
// peer and its name (tls_server_name, else host) unless verify is Off; presents the client
// certificate if any. Shared because every reconnect's stream borrows the same context.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const ClusterCredentials& creds);

// The name to send as SNI on each stream (SSL_set_tlsext_host_name); empty for an IP literal,
// which RFC 6066 section 3 forbids in SNI.
std::string sni_name(const ClusterCredentials& creds);

}  // namespace globaldns::sync::kube
