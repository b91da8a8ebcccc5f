// Tests of the TLS client context: trust anchors, client certificates, verification modes.
#include "sync/kube/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tests/unit/sync_kube/credentials_test_util.hpp"

namespace globaldns::sync::kube {
namespace {

using testing::make_cert;
using testing::TempDir;

class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    a_ = new testing::CertPair(make_cert(dir_->path(), "a"));
    b_ = new testing::CertPair(make_cert(dir_->path(), "b"));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    delete dir_;
  }
  static ClusterCredentials creds() {
    ClusterCredentials c;
    c.host = "test";
    c.port = 6443;
    c.origin = "unit test";
    return c;
  }
  static inline TempDir* dir_ = nullptr;
  static inline testing::CertPair* a_ = nullptr;
  static inline testing::CertPair* b_ = nullptr;
};

TEST_F(TlsContextTest, ValidCaAndClientCertificate) {
  auto c = creds();
  c.ca_pem = a_->cert_pem;
  c.client_cert_pem = b_->cert_pem;
  c.client_key_pem = b_->key_pem;
  auto r = make_tls_context(c);
  ASSERT_TRUE(r) << r.error();
  SSL_CTX* native = (*r)->native_handle();
  EXPECT_EQ(SSL_CTX_get_verify_mode(native), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get0_certificate(native), nullptr);
}

TEST_F(TlsContextTest, SystemTrustStoreWhenNoCa) {
  auto r = make_tls_context(creds());
  ASSERT_TRUE(r) << r.error();
}

TEST_F(TlsContextTest, GarbageCaIsRejected) {
  auto c = creds();
  c.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
  auto r = make_tls_context(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("is not valid PEM"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("unit test"), std::string::npos) << r.error();
  c.ca_pem = "hello";
  EXPECT_FALSE(make_tls_context(c));
}

TEST_F(TlsContextTest, MismatchedKeyIsRejected) {
  auto c = creds();
  c.client_cert_pem = a_->cert_pem;
  c.client_key_pem = b_->key_pem;
  auto r = make_tls_context(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("client key does not match the client certificate"), std::string::npos)
      << r.error();
}

TEST_F(TlsContextTest, GarbageClientMaterialIsRejected) {
  auto c = creds();
  c.client_cert_pem = "nope";
  c.client_key_pem = a_->key_pem;
  auto cert = make_tls_context(c);
  ASSERT_FALSE(cert);
  EXPECT_NE(cert.error().find("client certificate is not valid PEM"), std::string::npos);
  c.client_cert_pem = a_->cert_pem;
  c.client_key_pem = "nope";
  auto key = make_tls_context(c);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().find("client key is not a valid PEM private key"), std::string::npos);
  c.client_key_pem.reset();
  EXPECT_FALSE(make_tls_context(c));
}

TEST_F(TlsContextTest, InsecureSkipVerify) {
  auto c = creds();
  c.verify = TlsVerify::Off;
  auto r = make_tls_context(c);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(SSL_CTX_get_verify_mode((*r)->native_handle()), SSL_VERIFY_NONE);
}

TEST_F(TlsContextTest, SniName) {
  auto c = creds();
  EXPECT_EQ(sni_name(c), "test");
  c.host = "10.0.0.1";
  EXPECT_EQ(sni_name(c), "");
  c.host = "fd00::1";
  EXPECT_EQ(sni_name(c), "");
  c.tls_server_name = "api.internal";
  EXPECT_EQ(sni_name(c), "api.internal");
  EXPECT_TRUE(make_tls_context(c));
}

}  // namespace
}  // namespace globaldns::sync::kube

namespace globaldns::sync::kube {
namespace {

// Runs a TLS handshake in memory between our client context and a server presenting `server`.
// `cipher`, when given, gets the suite negotiated.
bool handshake(boost::asio::ssl::context& client_ctx, const std::string& sni,
               const testing::CertPair& server, std::string* cipher = nullptr) {
  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  BIO* cert_bio = BIO_new_mem_buf(server.cert_pem.data(), static_cast<int>(server.cert_pem.size()));
  BIO* key_bio = BIO_new_mem_buf(server.key_pem.data(), static_cast<int>(server.key_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  SSL_CTX_use_certificate(server_ctx, cert);
  SSL_CTX_use_PrivateKey(server_ctx, key);
  SSL* c = SSL_new(client_ctx.native_handle());
  SSL* s = SSL_new(server_ctx);
  if (!sni.empty()) SSL_set_tlsext_host_name(c, sni.c_str());
  BIO* cb = nullptr;
  BIO* sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  bool client_done = false;
  bool server_done = false;
  bool failed = false;
  for (int i = 0; i < 100 && !(client_done && server_done) && !failed; ++i) {
    if (!client_done) {
      const int r = SSL_do_handshake(c);
      client_done = r == 1;
      failed = r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ;
    }
    if (!server_done && !failed) {
      const int r = SSL_do_handshake(s);
      server_done = r == 1;
      failed = r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ;
    }
  }
  if (cipher != nullptr && client_done) {
    if (const SSL_CIPHER* suite = SSL_get_current_cipher(c)) *cipher = SSL_CIPHER_get_name(suite);
  }
  ERR_clear_error();
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(server_ctx);
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  return client_done && server_done && !failed;
}

TEST_F(TlsContextTest, HandshakeVerifiesTheCaAndTheName) {
  auto c = creds();  // host "test" is in a's SAN
  c.ca_pem = a_->cert_pem;
  auto good = make_tls_context(c);
  ASSERT_TRUE(good) << good.error();
  EXPECT_TRUE(handshake(**good, sni_name(c), *a_));
  EXPECT_FALSE(handshake(**good, sni_name(c), *b_));  // b is not signed by the trusted CA

  c.host = "127.0.0.1";  // an IP SAN
  auto by_ip = make_tls_context(c);
  ASSERT_TRUE(by_ip) << by_ip.error();
  EXPECT_TRUE(handshake(**by_ip, sni_name(c), *a_));

  c.tls_server_name = "other.name";  // not in the certificate
  auto wrong_name = make_tls_context(c);
  ASSERT_TRUE(wrong_name) << wrong_name.error();
  EXPECT_FALSE(handshake(**wrong_name, sni_name(c), *a_));

  c.verify = TlsVerify::Off;
  c.ca_pem.reset();
  auto insecure = make_tls_context(c);
  ASSERT_TRUE(insecure) << insecure.error();
  EXPECT_TRUE(handshake(**insecure, sni_name(c), *b_));
}

// A server that follows the client's order, as OpenSSL's default does, picks AES-128-GCM, the
// suite Go's crypto/tls prefers, not OpenSSL's own first choice AES-256-GCM.
TEST_F(TlsContextTest, OffersAes128GcmFirst) {
  auto c = creds();
  c.ca_pem = a_->cert_pem;
  auto ctx = make_tls_context(c);
  ASSERT_TRUE(ctx) << ctx.error();
  std::string cipher;
  ASSERT_TRUE(handshake(**ctx, sni_name(c), *a_, &cipher));
  EXPECT_EQ(cipher, "TLS_AES_128_GCM_SHA256");
}

}  // namespace
}  // namespace globaldns::sync::kube
