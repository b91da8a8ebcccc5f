#!/usr/bin/python3
"""Integration test of the gRPC DnsService with a client that is not ours: Debian's grpcio, with
stubs generated from dns/grpc/dns.proto at test time by grpc_tools, and dnspython to build and
read the DNS messages. Starts globaldns on loopback (gRPC on port 0, learnt from the log).

Usage: grpc_test.py BINARY PROTO EXAMPLES_YAML MAKE_CERTS_SH   (run by ctest)
"""
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import grpc

BINARY = PROTO = EXAMPLES = MAKE_CERTS = None
pb2 = pb2_grpc = None

# A host with more addresses than fit in 512 bytes: 40 A records are 640 bytes of answer.
BIG_ADDRESSES = [f"240.0.1.{i}" for i in range(1, 41)]
BIG_ENTRY = """---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: big
  namespace: istio-testing
  creationTimestamp: "2024-03-01T10:00:00Z"
spec:
  hosts:
  - big.istio-testing.global
  location: MESH_INTERNAL
  resolution: DNS
  addresses:
""" + "".join(f"  - {a}\n" for a in BIG_ADDRESSES)

HIT = "httpbin.istio-testing.global."


def generate_stubs(out_dir):
    """dns_pb2 and dns_pb2_grpc from our .proto, with Debian's grpc_tools (1.14). Its _pb2 uses the
    old descriptor API, which python3-protobuf 3.21 still accepts with its default (C++)
    implementation, so no extra step is needed."""
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.dirname(PROTO),
                    "--python_out", out_dir, "--grpc_python_out", out_dir, PROTO],
                   check=True, timeout=60)
    sys.path.insert(0, out_dir)
    global pb2, pb2_grpc
    import dns_pb2  # noqa: E402 (generated just now)
    import dns_pb2_grpc  # noqa: E402
    pb2, pb2_grpc = dns_pb2, dns_pb2_grpc


class Server:
    """globaldns serve with gRPC on 127.0.0.1:0; stopped by its PID."""

    def __init__(self, work_dir, name, extra, lameduck_ms=0):
        self.log_path = os.path.join(work_dir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--files", os.path.join(work_dir, "entries"),
             "--threads", "1", "--health", "off", "--ready", "off", "--lameduck-ms", str(lameduck_ms),
             "--grpc", "127.0.0.1:0"] + ([] if "--metrics" in extra else ["--metrics", "off"]) + extra,
            stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._grpc_port()

    def _grpc_port(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = re.search(r"serving gRPC on 127\.0\.0\.1:(\d+) ", self.text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("globaldns did not serve gRPC; log:\n" + self.text())

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def query(channel, wire, timeout=5):
    """One DnsService/Query call; the reply's bytes, or raises grpc.RpcError."""
    stub = pb2_grpc.DnsServiceStub(channel)
    return stub.Query(pb2.DnsPacket(msg=wire), timeout=timeout).msg


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def wait_answering(channel):
    deadline = time.monotonic() + 10
    while True:
        try:
            r = dns.message.from_wire(query(channel, dns.message.make_query(HIT, "A").to_wire(), 1))
            if r.rcode() == dns.rcode.NOERROR:
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("no NOERROR answer over gRPC within 10 s")
        time.sleep(0.05)


def assert_invalid_argument(test, channel, wire, fragment):
    with test.assertRaises(grpc.RpcError) as caught:
        query(channel, wire)
    test.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
    test.assertIn(fragment, caught.exception.details())


class WorkDir:
    """A temporary directory with the ServiceEntries and, on demand, test certificates."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="globaldns-grpc-")
        entries = os.path.join(self.path, "entries")
        os.mkdir(entries)
        shutil.copy(EXAMPLES, os.path.join(entries, "serviceentries.yaml"))
        with open(os.path.join(entries, "big.yaml"), "w") as f:
            f.write(BIG_ENTRY)
        self.certs = None

    def make_certs(self):
        if self.certs is None:
            self.certs = os.path.join(self.path, "certs")
            subprocess.run(["sh", MAKE_CERTS, self.certs], check=True, timeout=60)
        return self.certs

    def read(self, name):
        with open(os.path.join(self.make_certs(), name), "rb") as f:
            return f.read()

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def scrape(port):
    """The /metrics page as {series with labels: value}."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            values[series] = float(value)
    return values


class MetricsTest(unittest.TestCase):
    """gRPC queries are counted in CoreDNS's series under server="grpc://ADDR:PORT"."""

    @classmethod
    def setUpClass(cls):
        cls.work = WorkDir()
        cls.server = Server(cls.work.path, "metrics", ["--metrics", "127.0.0.1:0"])
        m = re.search(r"serving HTTP on 127\.0\.0\.1:(\d+) \(/metrics\)", cls.server.text())
        cls.metrics_port = int(m.group(1)) if m else None
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.port}")
        wait_answering(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        cls.work.remove()
        assert code == 0, f"globaldns exited {code}"

    def test_answered_queries_are_counted_exactly_and_rejected_ones_not(self):
        self.assertIsNotNone(self.metrics_port, self.server.text())
        server = f'server="grpc://127.0.0.1:{self.server.port}"'
        before = scrape(self.metrics_port)
        for _ in range(5):
            query(self.channel, dns.message.make_query(HIT, "A").to_wire())
        for _ in range(3):
            query(self.channel, dns.message.make_query("nope.istio-testing.global.", "A").to_wire())
        query(self.channel, dns.message.make_query(HIT, "AAAA").to_wire())
        for _ in range(2):
            with self.assertRaises(grpc.RpcError):
                query(self.channel, b"garbage")
        after = scrape(self.metrics_port)

        def delta(name, labels):
            key = f'{name}{{{server},{labels}}}'
            return after.get(key, 0) - before.get(key, 0)

        zone = 'zone="global.",view=""'
        self.assertEqual(delta("coredns_dns_requests_total",
                               f'{zone},proto="tcp",family="1",type="A"'), 8)
        self.assertEqual(delta("coredns_dns_requests_total",
                               f'{zone},proto="tcp",family="1",type="AAAA"'), 1)
        self.assertEqual(delta("coredns_dns_responses_total", f'{zone},rcode="NOERROR",plugin=""'), 6)
        self.assertEqual(delta("coredns_dns_responses_total", f'{zone},rcode="NXDOMAIN",plugin=""'), 3)
        self.assertEqual(delta("coredns_dns_request_duration_seconds_count", zone), 9)
        self.assertEqual(delta("coredns_dns_request_size_bytes_count", f'{zone},proto="tcp"'), 9)
        # Nothing went over UDP: no dns:// series moved.
        moved = [k for k in after if k.startswith("coredns_dns_requests_total") and "dns://" in k
                 and after[k] != before.get(k, 0)]
        self.assertEqual(moved, [])


class PlaintextTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = WorkDir()
        cls.server = Server(cls.work.path, "plaintext", [])
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.port}")
        wait_answering(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        cls.work.remove()
        assert code == 0, f"globaldns exited {code}"

    def ask(self, name, rdtype, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        r = dns.message.from_wire(query(self.channel, q.to_wire()))
        # What CoreDNS's request.Match checks before it accepts a reply.
        self.assertTrue(r.flags & dns.flags.QR)
        self.assertEqual(len(r.question), 1)
        self.assertEqual(r.question[0].name, q.question[0].name)  # dnspython: case-insensitive
        self.assertEqual(r.question[0].rdtype, q.question[0].rdtype)
        self.assertEqual(r.question[0].rdclass, q.question[0].rdclass)
        self.assertEqual(r.id, q.id)
        return r

    def test_hit_is_authoritative(self):
        r = self.ask(HIT, "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual([rr.address for rr in r.answer[0]], ["240.0.0.2"])
        self.assertEqual(r.answer[0].ttl, 30)

    def test_aaaa_of_v4_only_name_is_nodata_with_soa(self):
        r = self.ask(HIT, "AAAA")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.answer, [])
        self.assertEqual(r.authority[0].rdtype, dns.rdatatype.SOA)
        self.assertEqual(str(r.authority[0].name), "global.")

    def test_unknown_name_is_an_nxdomain_reply(self):
        r = self.ask("nothere.istio-testing.global.", "A")
        self.assertEqual(r.rcode(), dns.rcode.NXDOMAIN)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(r.authority[0].rdtype, dns.rdatatype.SOA)

    def test_answer_over_512_bytes_arrives_whole(self):
        q = dns.message.make_query("big.istio-testing.global.", "A")  # no EDNS: 512 over UDP
        raw = query(self.channel, q.to_wire())
        self.assertGreater(len(raw), 512)
        r = dns.message.from_wire(raw)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(sorted(rr.address for rr in r.answer[0]), sorted(BIG_ADDRESSES))

    def test_mixed_case_question_is_mirrored_byte_for_byte(self):
        q = dns.message.make_query("HttpBin.Istio-Testing.GLOBAL.", "A")
        r = dns.message.from_wire(query(self.channel, q.to_wire()))
        self.assertEqual(r.question[0].name.to_text(), "HttpBin.Istio-Testing.GLOBAL.")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)

    def test_out_of_zone_is_a_refused_reply(self):
        r = self.ask("example.com.", "A")
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        self.assertFalse(r.flags & dns.flags.AA)

    def test_coredns_health_probe_gets_a_reply(self):
        r = self.ask(".", "NS")
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)

    def test_edns_is_answered_with_opt(self):
        r = self.ask(HIT, "A", use_edns=0, payload=1232, want_dnssec=True)
        self.assertEqual(r.edns, 0)
        self.assertTrue(r.ednsflags & dns.flags.DO)
        self.assertEqual(r.answer[0][0].address, "240.0.0.2")

    def test_garbage_is_invalid_argument(self):
        assert_invalid_argument(self, self.channel, b"\x01\x02garbage", "DNS header")
        # A full header whose question runs past the end of the message.
        assert_invalid_argument(self, self.channel, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07httpb",
                                "malformed")

    def test_response_is_invalid_argument(self):
        q = dns.message.make_query(HIT, "A")
        q.flags |= dns.flags.QR
        assert_invalid_argument(self, self.channel, q.to_wire(), "QR is set")

    def test_zero_questions_is_invalid_argument(self):
        q = dns.message.Message(id=4321)
        assert_invalid_argument(self, self.channel, q.to_wire(), "QDCOUNT")

    def test_other_opcode_is_invalid_argument(self):
        q = dns.message.make_query(HIT, "A")
        q.set_opcode(dns.opcode.NOTIFY)
        assert_invalid_argument(self, self.channel, q.to_wire(), "opcode")

    def test_over_65535_bytes_is_invalid_argument(self):
        wire = dns.message.make_query(HIT, "A").to_wire()
        assert_invalid_argument(self, self.channel, wire + b"\0" * (70000 - len(wire)), "65535")

    def test_over_128_kib_is_refused_by_grpc_itself(self):
        # Past the receive limit gRPC answers without handing the message to the service.
        with self.assertRaises(grpc.RpcError) as caught:
            query(self.channel, b"\0" * (200 * 1024))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_server_limits_concurrent_streams_per_connection(self):
        # HTTP/2 with prior knowledge: the preface and an empty SETTINGS frame, then read the
        # server's SETTINGS (RFC 9113 §3.4, §6.5) and find SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
            settings = None
            for _ in range(10):  # frames until the server's first SETTINGS (not an ACK)
                header = recv_exactly(s, 9)
                length = int.from_bytes(header[:3], "big")
                payload = recv_exactly(s, length)
                if header[3] == 4 and not header[4] & 1:
                    settings = {int.from_bytes(payload[i:i + 2], "big"):
                                int.from_bytes(payload[i + 2:i + 6], "big")
                                for i in range(0, length, 6)}
                    break
        self.assertIsNotNone(settings)
        self.assertEqual(settings.get(3), 100)

    def test_parallel_calls_each_get_their_own_answer(self):
        names = [HIT, "reviews.bookinfo.global.", "big.istio-testing.global.", "nothere.global."] * 50
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(
                lambda n: (n, dns.message.from_wire(query(self.channel, dns.message.make_query(n, "A").to_wire()))),
                names))
        for name, r in replies:
            self.assertEqual(str(r.question[0].name), name)
        counts = {name: len(r.answer[0]) if r.answer else 0 for name, r in replies}
        self.assertEqual(counts, {HIT: 1, "reviews.bookinfo.global.": 2,
                                  "big.istio-testing.global.": 40, "nothere.global.": 0})


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = WorkDir()
        c = cls.work.make_certs()
        cls.server = Server(cls.work.path, "tls", [
            "--grpc-tls-cert", os.path.join(c, "server.crt"), "--grpc-tls-key", os.path.join(c, "server.key")])

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.work.remove()
        assert code == 0, f"globaldns exited {code}"

    def test_logs_tls(self):
        self.assertIn(f"serving gRPC on 127.0.0.1:{self.server.port} (TLS)", self.server.text())

    def test_tls_client_is_answered(self):
        creds = grpc.ssl_channel_credentials(root_certificates=self.work.read("ca.crt"))
        with grpc.secure_channel(f"127.0.0.1:{self.server.port}", creds) as channel:
            wait_answering(channel)
            r = dns.message.from_wire(query(channel, dns.message.make_query(HIT, "A").to_wire()))
            self.assertEqual(r.answer[0][0].address, "240.0.0.2")

    def test_plaintext_client_is_refused(self):
        with grpc.insecure_channel(f"127.0.0.1:{self.server.port}") as channel:
            with self.assertRaises(grpc.RpcError) as caught:
                query(channel, dns.message.make_query(HIT, "A").to_wire(), timeout=3)
            self.assertIn(caught.exception.code(),
                          (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED))


class ClientCertificateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = WorkDir()
        c = cls.work.make_certs()
        cls.server = Server(cls.work.path, "mtls", [
            "--grpc-tls-cert", os.path.join(c, "server.crt"), "--grpc-tls-key", os.path.join(c, "server.key"),
            "--grpc-tls-client-ca", os.path.join(c, "ca.crt")])

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.work.remove()
        assert code == 0, f"globaldns exited {code}"

    def test_client_with_certificate_is_answered(self):
        creds = grpc.ssl_channel_credentials(root_certificates=self.work.read("ca.crt"),
                                             private_key=self.work.read("client.key"),
                                             certificate_chain=self.work.read("client.crt"))
        with grpc.secure_channel(f"127.0.0.1:{self.server.port}", creds) as channel:
            wait_answering(channel)
            r = dns.message.from_wire(query(channel, dns.message.make_query(HIT, "A").to_wire()))
            self.assertEqual(r.answer[0][0].address, "240.0.0.2")

    def test_client_without_certificate_is_refused(self):
        creds = grpc.ssl_channel_credentials(root_certificates=self.work.read("ca.crt"))
        with grpc.secure_channel(f"127.0.0.1:{self.server.port}", creds) as channel:
            with self.assertRaises(grpc.RpcError) as caught:
                query(channel, dns.message.make_query(HIT, "A").to_wire(), timeout=3)
            self.assertIn(caught.exception.code(),
                          (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED))


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.work = WorkDir()

    def tearDown(self):
        self.work.remove()

    def test_answers_during_lameduck_then_exits_0(self):
        server = Server(self.work.path, "lameduck", [], lameduck_ms=3000)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                wait_answering(channel)
                server.proc.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 10
                while "lameduck for 3000 ms" not in server.text() and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertIn("lameduck for 3000 ms", server.text())
                r = dns.message.from_wire(query(channel, dns.message.make_query(HIT, "A").to_wire()))
                self.assertEqual(r.answer[0][0].address, "240.0.0.2")
            self.assertEqual(server.proc.wait(timeout=10), 0)
        finally:
            server.stop()

    def test_servfail_before_the_first_complete_sync(self):
        # A cluster whose API server never answers: nothing is published, so in-zone queries get
        # SERVFAIL (as over UDP), never NXDOMAIN.
        kubeconfig = os.path.join(self.work.path, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: down\n"
                    "clusters:\n- name: down\n  cluster:\n    server: https://127.0.0.1:1\n"
                    "    insecure-skip-tls-verify: true\n"
                    "users:\n- name: u\n  user:\n    token: t\n"
                    "contexts:\n- name: down\n  context:\n    cluster: down\n    user: u\n")
        server = Server(self.work.path, "unsynced", ["--kubeconfig", kubeconfig])
        try:
            with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                q = dns.message.make_query(HIT, "A")
                r = dns.message.from_wire(query(channel, q.to_wire()))
                self.assertEqual(r.rcode(), dns.rcode.SERVFAIL)
                self.assertTrue(q.is_response(r))
        finally:
            self.assertEqual(server.stop(), 0)

    def test_port_in_use_is_a_clear_start_error(self):
        first = Server(self.work.path, "first", [])
        try:
            log = os.path.join(self.work.path, "second.log")
            with open(log, "w") as out:
                code = subprocess.run(
                    [BINARY, "serve", "--listen", "127.0.0.1:0", "--health", "off", "--ready", "off",
                     "--metrics", "off", "--grpc", f"127.0.0.1:{first.port}"],
                    stdout=out, stderr=subprocess.STDOUT, timeout=30).returncode
            self.assertNotEqual(code, 0)
            with open(log) as f:
                self.assertIn(f"cannot serve gRPC on 127.0.0.1:{first.port}: Address already in use", f.read())
        finally:
            first.stop()


if __name__ == "__main__":
    BINARY, PROTO, EXAMPLES, MAKE_CERTS = sys.argv[1:5]
    stub_dir = tempfile.mkdtemp(prefix="globaldns-grpc-stubs-")
    try:
        generate_stubs(stub_dir)
        result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    finally:
        shutil.rmtree(stub_dir, ignore_errors=True)
    sys.exit(0 if result.wasSuccessful() else 1)
