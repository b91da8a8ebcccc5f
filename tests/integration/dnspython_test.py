#!/usr/bin/python3
"""Integration test with dnspython as the client: starts globaldns on a loopback port, queries it
over UDP and TCP, and checks the answers as a third-party DNS library reads them.

Usage: dnspython_test.py BINARY EXAMPLES_YAML   (run by ctest; Debian's python3-dnspython)
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from loopback import free_port

BINARY = None
EXAMPLES = None


class GlobalDnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="globaldns-py-")
        shutil.copy(EXAMPLES, os.path.join(cls.dir, "serviceentries.yaml"))
        cls.port = free_port()
        cls.log = open(os.path.join(cls.dir, "server.log"), "w")
        cls.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", f"127.0.0.1:{cls.port}", "--files", cls.dir, "--threads", "2",
             "--health", "off", "--ready", "off", "--grpc", "off", "--metrics", "off", "--lameduck-ms", "0"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                q = dns.message.make_query("httpbin.istio-testing.global.", "A")
                r = dns.query.udp(q, "127.0.0.1", port=cls.port, timeout=0.2)
                if r.rcode() == dns.rcode.NOERROR:
                    return
            except Exception:  # not up yet
                pass
            if cls.proc.poll() is not None:
                break
            time.sleep(0.05)
        cls.tearDownClass()
        raise RuntimeError("globaldns did not start; log: " + open(os.path.join(cls.dir, "server.log")).read())

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
            try:
                cls.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def udp(self, name, rdtype, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        return q, dns.query.udp(q, "127.0.0.1", port=self.port, timeout=2)

    def tcp(self, name, rdtype, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        return q, dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=2)

    def test_hit(self):
        q, r = self.udp("httpbin.istio-testing.global.", "A")
        self.assertTrue(q.is_response(r))
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertFalse(r.flags & dns.flags.RA)
        self.assertEqual([rr.address for rr in r.answer[0]], ["240.0.0.2"])
        self.assertEqual(r.answer[0].ttl, 30)

    def test_aaaa_of_v4_only_name_is_nodata_with_soa(self):
        _, r = self.udp("httpbin.istio-testing.global.", "AAAA")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.answer, [])
        self.assertEqual(r.authority[0].rdtype, dns.rdatatype.SOA)
        self.assertEqual(str(r.authority[0].name), "global.")

    def test_nxdomain_with_soa(self):
        _, r = self.udp("nothere.istio-testing.global.", "A")
        self.assertEqual(r.rcode(), dns.rcode.NXDOMAIN)
        self.assertEqual(r.authority[0].rdtype, dns.rdatatype.SOA)

    def test_empty_non_terminal(self):
        _, r = self.udp("istio-testing.global.", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.answer, [])

    def test_wildcard(self):
        _, r = self.udp("anything.wild.global.", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(str(r.answer[0].name), "anything.wild.global.")

    def test_mixed_case_echoed(self):
        q, r = self.udp("HttpBin.Istio-Testing.GLOBAL.", "A")
        self.assertEqual(str(r.question[0].name), "HttpBin.Istio-Testing.GLOBAL.")
        self.assertTrue(q.is_response(r))

    def test_refused_outside_zones(self):
        _, r = self.udp("example.com.", "A")
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        self.assertFalse(r.flags & dns.flags.AA)

    def test_soa_and_ns_at_apex(self):
        _, r = self.udp("global.", "SOA")
        self.assertEqual(r.answer[0].rdtype, dns.rdatatype.SOA)
        _, r = self.udp("global.", "NS")
        self.assertEqual(r.answer[0].rdtype, dns.rdatatype.NS)

    def test_edns(self):
        _, r = self.udp("httpbin.istio-testing.global.", "A", use_edns=0, payload=4096)
        self.assertEqual(r.edns, 0)
        self.assertEqual(r.payload, 1232)
        q = dns.message.make_query("httpbin.istio-testing.global.", "A")
        q.use_edns(1)  # make_query(use_edns=1) reads 1 as True, i.e. version 0
        r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=2)
        self.assertEqual(r.rcode(), dns.rcode.BADVERS)
        self.assertEqual(r.edns, 0)

    def test_tcp(self):
        _, r = self.tcp("reviews.bookinfo.global.", "A")
        self.assertEqual(sorted(rr.address for rr in r.answer[0]), ["240.0.0.3", "240.0.0.4"])

    def test_tcp_pipelined_on_one_connection(self):
        names = ["httpbin.istio-testing.global.", "nothere.global.", "reviews.bookinfo.global."]
        queries = [dns.message.make_query(n, "A") for n in names]
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"".join(len(w).to_bytes(2, "big") + w for w in (q.to_wire() for q in queries)))
            for q in queries:
                r, _ = dns.query.receive_tcp(s, expiration=time.time() + 2)
                self.assertTrue(q.is_response(r))

    def test_any_is_minimal(self):
        _, r = self.udp("global.", "ANY")
        self.assertEqual(len(r.answer), 1)


if __name__ == "__main__":
    BINARY, EXAMPLES = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
