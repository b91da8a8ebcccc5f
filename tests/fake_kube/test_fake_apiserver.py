#!/usr/bin/python3
"""Protocol tests of the fake kube-apiserver against the documented Kubernetes behaviour.

Starts fake_apiserver.py as a process (as the C++ tests do), reads its READY line and
drives it over the control port. Clients here are http.client / raw ssl sockets.
"""

import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_apiserver.py")
SE = "/apis/networking.istio.io/v1/serviceentries"


def se(name, ns="ns1", addr="240.0.0.1", labels=None, hosts=None):
    md = {"name": name, "namespace": ns}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": md,
            "spec": {"hosts": hosts or ["%s.%s.global" % (name, ns)], "addresses": [addr],
                     "resolution": "STATIC"}}


class RawStream:
    """Minimal HTTP/1.1 client over TLS that exposes raw chunk boundaries."""

    def __init__(self, port, ctx, path, token="t1", timeout=5.0):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.request(path, token)

    def request(self, path, token="t1"):
        hdr = "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n" % path
        if token:
            hdr += "Authorization: Bearer %s\r\n" % token
        self.sock.sendall((hdr + "\r\n").encode())
        head = self._until(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for ln in lines[1:]:
            if ln:
                k, v = ln.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        self.ended = False
        self.pending = b""
        if "content-length" in self.headers:
            self.body = self._n(int(self.headers["content-length"]))
            self.ended = True

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _until(self, sep):
        while sep not in self.buf:
            self._fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def _n(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunk(self):
        """Next chunk's payload; b"" for the terminating chunk (clean end)."""
        size = int(self._until(b"\r\n"), 16)
        data = self._n(size)
        assert self._n(2) == b"\r\n"
        if size == 0:
            self.ended = True
        return data

    def event(self):
        """Next NDJSON event, framed on '\\n' across chunks; None at clean end."""
        while b"\n" not in self.pending:
            if self.ended:
                return None
            self.pending += self.chunk()
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def events_until_end(self):
        out = []
        while True:
            e = self.event()
            if e is None:
                return out
            out.append(e)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class FakeKubeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.certs = os.path.join(cls.tmp.name, "certs")
        subprocess.run(["/bin/sh", os.path.join(HERE, "make_certs.sh"), cls.certs], check=True)
        cls.proc = subprocess.Popen([sys.executable, SERVER, "--certs-dir", cls.certs, "--token", "t1",
                                     "--bookmark-interval", "0.3"],
                                    stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline().split()
        assert line[0] == "READY", line
        cls.api = int(line[1].split("=")[1])
        cls.control = int(line[2].split("=")[1])
        cls.ctx = ssl.create_default_context(cafile=os.path.join(cls.certs, "ca.crt"))

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        rc = cls.proc.wait(10)
        cls.proc.stdout.close()
        cls.tmp.cleanup()
        assert rc == 0, rc

    def setUp(self):
        self.ctl("/reset")
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            s.close()

    # ---- helpers ----
    def ctl(self, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.control, timeout=30)
        c.request("POST", path, json.dumps(body or {}), {"Content-Type": "application/json"})
        r = c.getresponse()
        data = json.loads(r.read())
        c.close()
        self.assertEqual(r.status, 200, data)
        return data

    def conn(self, ctx=None):
        return http.client.HTTPSConnection("127.0.0.1", self.api, context=ctx or self.ctx, timeout=10)

    def get(self, path, token="t1", conn=None):
        c = conn or self.conn()
        c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        else:
            self.addCleanup(conn.close)
        return r, body

    def getj(self, path, **kw):
        r, body = self.get(path, **kw)
        self.assertEqual(r.status, 200, body)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        return json.loads(body)

    def watch(self, query, token="t1", path=SE):
        s = RawStream(self.api, self.ctx, path + "?" + query, token)
        self.streams.append(s)
        return s

    def assert_status(self, r, body, code, reason):
        self.assertEqual(r.status, code, body)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        st = json.loads(body)
        self.assertEqual((st["kind"], st["apiVersion"], st["status"], st["code"], st["reason"]),
                         ("Status", "v1", "Failure", code, reason))
        return st

    def assert_watch_stream(self, s):
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers["content-type"], "application/json")
        self.assertEqual(s.headers["transfer-encoding"], "chunked")

    # ---- auth ----
    def test_auth_bearer_and_client_cert(self):
        r, b = self.get("/apis", token=None)
        st = self.assert_status(r, b, 401, "Unauthorized")
        self.assertEqual(st["message"], "Unauthorized")
        r, b = self.get("/apis", token="wrong")
        self.assert_status(r, b, 401, "Unauthorized")
        self.getj("/apis")
        cctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))
        cctx.load_cert_chain(os.path.join(self.certs, "client.crt"), os.path.join(self.certs, "client.key"))
        r, b = self.get("/apis", token=None, conn=self.conn(cctx))
        self.assertEqual(r.status, 200, b)
        self.ctl("/tokens", {"client_cert_auth": False})
        r, b = self.get("/apis", token=None, conn=self.conn(cctx))
        self.assertEqual(r.status, 401)

    def test_token_rotation(self):
        c = self.conn()
        self.getj(SE, conn=c)
        self.ctl("/tokens", {"tokens": ["t2"]})
        r, b = self.get(SE, token="t1", conn=c)  # same keep-alive connection
        self.assert_status(r, b, 401, "Unauthorized")
        self.getj(SE, token="t2", conn=c)
        # a watch opened with the old token is refused too
        s = self.watch("watch=1", token="t1")
        self.assertEqual(s.status, 401)

    # ---- discovery ----
    def test_discovery(self):
        g = self.getj("/apis")
        self.assertEqual((g["kind"], g["apiVersion"]), ("APIGroupList", "v1"))
        grp = g["groups"][0]
        self.assertEqual(grp["name"], "networking.istio.io")
        self.assertEqual([v["version"] for v in grp["versions"]], ["v1", "v1beta1", "v1alpha3"])
        self.assertEqual(grp["preferredVersion"], {"groupVersion": "networking.istio.io/v1", "version": "v1"})
        g1 = self.getj("/apis/networking.istio.io")
        self.assertEqual(g1["kind"], "APIGroup")
        self.assertEqual(g1["versions"], grp["versions"])
        rl = self.getj("/apis/networking.istio.io/v1beta1")
        self.assertEqual((rl["kind"], rl["groupVersion"]), ("APIResourceList", "networking.istio.io/v1beta1"))
        res = rl["resources"][0]
        self.assertEqual((res["name"], res["kind"], res["namespaced"]), ("serviceentries", "ServiceEntry", True))
        self.assertIn("watch", res["verbs"])
        self.assertIn("list", res["verbs"])
        # older Istio: v1 not served
        self.ctl("/fault", {"versions": ["v1beta1", "v1alpha3"], "preferred": "v1beta1"})
        g = self.getj("/apis")
        self.assertEqual(g["groups"][0]["preferredVersion"]["version"], "v1beta1")
        r, b = self.get("/apis/networking.istio.io/v1")
        self.assert_status(r, b, 404, "NotFound")
        r, b = self.get(SE)
        self.assertEqual(r.status, 404)

    # ---- list ----
    def test_list_shape_and_versions(self):
        rv = self.ctl("/apply", se("a", labels={"app": "x"}))["resourceVersion"]
        for v in ("v1", "v1beta1", "v1alpha3"):
            lst = self.getj("/apis/networking.istio.io/%s/serviceentries" % v)
            self.assertEqual(lst["kind"], "ServiceEntryList")
            self.assertEqual(lst["apiVersion"], "networking.istio.io/" + v)
            self.assertEqual(lst["metadata"], {"resourceVersion": rv})
            it = lst["items"][0]
            self.assertEqual(it["apiVersion"], "networking.istio.io/" + v)
            self.assertEqual(it["kind"], "ServiceEntry")
            md = it["metadata"]
            self.assertEqual(md["resourceVersion"], rv)
            self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(it["spec"]["hosts"], ["a.ns1.global"])
        # update bumps the object RV, keeps uid / creationTimestamp; no-op update does not
        uid = it["metadata"]["uid"]
        rv2 = self.ctl("/apply", se("a", addr="240.0.0.9", labels={"app": "x"}))["resourceVersion"]
        self.assertGreater(int(rv2), int(rv))
        self.assertEqual(self.ctl("/apply", se("a", addr="240.0.0.9", labels={"app": "x"}))["resourceVersion"], rv2)
        obj = self.getj("/apis/networking.istio.io/v1/namespaces/ns1/serviceentries/a")
        self.assertEqual((obj["metadata"]["uid"], obj["metadata"]["resourceVersion"],
                          obj["metadata"]["generation"]), (uid, rv2, 2))
        r, b = self.get("/apis/networking.istio.io/v1/namespaces/ns1/serviceentries/zzz")
        self.assert_status(r, b, 404, "NotFound")

    def test_list_namespace_and_label_selector(self):
        self.ctl("/apply", {"objects": [se("a", "ns1", labels={"app": "x", "t": "1"}), se("b", "ns1"),
                                        se("c", "ns2", labels={"app": "x"}), se("d", "ns10")]})
        names = lambda l: [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in l["items"]]
        self.assertEqual(names(self.getj(SE)), [("ns1", "a"), ("ns1", "b"), ("ns10", "d"), ("ns2", "c")])
        self.assertEqual(names(self.getj("/apis/networking.istio.io/v1/namespaces/ns1/serviceentries")),
                         [("ns1", "a"), ("ns1", "b")])
        self.assertEqual(names(self.getj(SE + "?labelSelector=app%3Dx")), [("ns1", "a"), ("ns2", "c")])
        self.assertEqual(names(self.getj(SE + "?labelSelector=app%3Dx,t%3D1")), [("ns1", "a")])
        self.assertEqual(names(self.getj(SE + "?labelSelector=app!%3Dx")), [("ns1", "b"), ("ns10", "d")])

    def test_list_pagination_consistent_under_writes(self):
        self.ctl("/bulk", {"count": 40, "namespaces": 3})
        c = self.conn()  # all pages on one keep-alive connection
        first = self.getj(SE.replace("/v1/", "/v1alpha3/") + "?limit=7", conn=c)
        snap = first["metadata"]["resourceVersion"]
        expected = {(i["metadata"]["namespace"], i["metadata"]["name"]): i["metadata"]["resourceVersion"]
                    for i in self.getj("%s?resourceVersion=%s&resourceVersionMatch=Exact" % (SE, snap))["items"]}
        self.assertEqual(len(expected), 40)
        # as a real API server: what is left after this page, and only on a page with more to come
        self.assertEqual(first["metadata"]["remainingItemCount"], 33)
        items, page, tok, n = list(first["items"]), first, first["metadata"]["continue"], 0
        # the token is base64url without padding and opaque; the fake encodes the snapshot RV in it
        self.assertNotIn("=", tok)
        self.assertEqual(json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))["rv"], int(snap))
        while tok:
            n += 1
            # writes between pages: modify, delete, create -- none may show up in this list
            self.ctl("/apply", se("svc%d" % n, "ns%d" % (n % 3), addr="240.1.1.%d" % n))
            self.ctl("/delete", {"namespace": "ns%d" % ((n + 1) % 3), "name": "svc%d" % (n + 1)})
            self.ctl("/apply", se("new%d" % n, "ns0"))
            page = self.getj(SE.replace("/v1/", "/v1alpha3/") + "?limit=7&continue=" + tok, conn=c)
            self.assertEqual(page["metadata"]["resourceVersion"], snap)
            self.assertTrue(all(i["apiVersion"] == "networking.istio.io/v1alpha3" for i in page["items"]))
            items += page["items"]
            tok = page["metadata"].get("continue")
            self.assertEqual("remainingItemCount" in page["metadata"], tok is not None)
        got = {(i["metadata"]["namespace"], i["metadata"]["name"]): i["metadata"]["resourceVersion"] for i in items}
        self.assertEqual(len(got), len(items), "duplicate items across pages")
        self.assertEqual(got, expected)
        keys = ["%s/%s" % k for k in [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items]]
        self.assertEqual(keys, sorted(keys))
        # a fresh list sees the writes
        now = self.getj(SE)
        self.assertGreater(int(now["metadata"]["resourceVersion"]), int(snap))
        self.assertNotEqual(len(now["items"]), 40)

    def test_pages_at_head_follow_every_write(self):
        # Pages of a list at the newest resourceVersion come from a cache of encoded objects: a
        # write, a tombstone in a page's range or another API version must never serve stale text.
        self.ctl("/bulk", {"count": 12, "namespaces": 2})

        def paged(version="v1"):
            path, items, tok = SE.replace("/v1/", "/%s/" % version) + "?limit=5", [], ""
            while True:
                page = self.getj(path + ("&continue=" + tok if tok else ""))
                items += page["items"]
                tok = page["metadata"].get("continue")
                if not tok:
                    return items

        before = paged()
        self.assertEqual(len(before), 12)
        victim, changed = before[3]["metadata"], before[7]["metadata"]
        self.ctl("/delete", {"namespace": victim["namespace"], "name": victim["name"]})
        self.ctl("/apply", se(changed["name"], changed["namespace"], addr="240.9.9.9"))
        after = paged()
        names = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in after]
        self.assertEqual(len(after), 11)
        self.assertNotIn((victim["namespace"], victim["name"]), names)
        now = {(i["metadata"]["namespace"], i["metadata"]["name"]): i for i in after}
        self.assertEqual(now[(changed["namespace"], changed["name"])]["spec"]["addresses"], ["240.9.9.9"])
        self.assertTrue(all(i["apiVersion"] == "networking.istio.io/v1" for i in after))
        older = paged("v1alpha3")
        self.assertEqual(len(older), 11)
        self.assertTrue(all(i["apiVersion"] == "networking.istio.io/v1alpha3" for i in older))
        # compaction drops the deleted key from the store's keys without a new revision
        self.assertEqual(len(paged()), 11)  # the list cached again under v1
        self.ctl("/compact")
        compacted = paged()
        self.assertEqual([(i["metadata"]["namespace"], i["metadata"]["name"]) for i in compacted], names)

    def test_large_list_is_chunked(self):
        self.ctl("/bulk", {"count": 200})
        s = RawStream(self.api, self.ctx, SE)
        self.streams.append(s)
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers.get("transfer-encoding"), "chunked")
        body = b""
        while not s.ended:
            body += s.chunk()
        self.assertEqual(len(json.loads(body)["items"]), 200)
        # connection is kept alive after the terminating chunk
        s.request("/apis")
        self.assertEqual(s.status, 200)

    def test_expired_continue_is_410(self):
        self.ctl("/bulk", {"count": 10})
        p = self.getj(SE + "?limit=3")
        self.ctl("/apply", se("x"))
        self.ctl("/compact")
        r, b = self.get(SE + "?limit=3&continue=" + p["metadata"]["continue"])
        st = self.assert_status(r, b, 410, "Expired")
        self.assertIn("continue parameter is too old", st["message"])
        # knob: expire outstanding tokens without compaction
        p = self.getj(SE + "?limit=3")
        self.getj(SE + "?limit=3&continue=" + p["metadata"]["continue"])
        self.ctl("/fault", {"expire_continue": True})
        r, b = self.get(SE + "?limit=3&continue=" + p["metadata"]["continue"])
        self.assert_status(r, b, 410, "Expired")
        # a new list works
        self.assertEqual(len(self.getj(SE)["items"]), 11)

    # ---- watch ----
    def test_watch_from_rv(self):
        rv_a = self.ctl("/apply", se("a"))["resourceVersion"]
        self.ctl("/apply", se("b"))
        s = self.watch("watch=1&resourceVersion=" + rv_a)
        self.assert_watch_stream(s)
        e = s.event()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "b"))
        rv_m = self.ctl("/apply", se("a", addr="240.0.0.7"))["resourceVersion"]
        e = s.event()
        self.assertEqual((e["type"], e["object"]["metadata"]["resourceVersion"]), ("MODIFIED", rv_m))
        self.assertEqual(e["object"]["spec"]["addresses"], ["240.0.0.7"])
        rv_d = self.ctl("/delete", {"namespace": "ns1", "name": "a"})["resourceVersion"]
        e = s.event()
        self.assertEqual(e["type"], "DELETED")
        self.assertEqual(e["object"]["metadata"]["resourceVersion"], rv_d)
        self.assertEqual(e["object"]["spec"]["addresses"], ["240.0.0.7"])
        # namespaced + label-filtered watch
        s2 = self.watch("watch=true&labelSelector=app%3Dx&resourceVersion=" + rv_d,
                        path="/apis/networking.istio.io/v1/namespaces/ns2/serviceentries")
        self.ctl("/apply", {"objects": [se("c", "ns1", labels={"app": "x"}), se("d", "ns2"),
                                        se("e", "ns2", labels={"app": "x"})]})
        e = s2.event()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "e"))
        self.ctl("/apply", se("e", "ns2", labels={"app": "y"}))  # leaves the selector
        e = s2.event()
        self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("DELETED", "e"))

    def test_emitted_times_for_benchmarks(self):
        rv_a = self.ctl("/apply", se("a"))["resourceVersion"]
        s = self.watch("watch=1&resourceVersion=" + rv_a)
        self.assert_watch_stream(s)
        before = time.monotonic()
        res = self.ctl("/apply", se("a", addr="240.0.0.9"))
        rv = res["applied"][0]["resourceVersion"]
        e = s.event()
        after = time.monotonic()
        self.assertEqual(e["object"]["metadata"]["resourceVersion"], rv)
        # the write time is noted just after the write: wait for it, bounded
        for _ in range(100):
            em = self.ctl("/emitted", {"rvs": [rv, "999999"]})
            if em["emitted"]:
                break
            time.sleep(0.01)
        self.assertEqual(list(em["emitted"]), [rv])  # unknown resourceVersions are left out
        t = em["emitted"][rv]
        # CLOCK_MONOTONIC is shared across processes: stored < written < read here
        self.assertLessEqual(before, res["monotonic"])
        self.assertLessEqual(res["monotonic"], t)
        self.assertLessEqual(t, after)
        self.assertEqual(self.ctl("/emitted", {"rv": int(rv)})["emitted"], {rv: t})
        self.ctl("/apply", se("a", addr="240.0.0.9"))  # no-op: no event, nothing new emitted
        self.ctl("/reset")
        self.assertEqual(self.ctl("/emitted", {"rv": rv})["emitted"], {})

    def test_control_keepalive_is_fast(self):
        # A paced updater (bench/kube_sync.py) sends many /apply on one connection; a reply split
        # into two writes cost ~40 ms each (Nagle against delayed ACK), capping it at ~20/s.
        c = http.client.HTTPConnection("127.0.0.1", self.control, timeout=30)
        self.addCleanup(c.close)
        times = []
        for i in range(15):
            t = time.monotonic()
            c.request("POST", "/apply", json.dumps(se("k", addr="240.0.1.%d" % i)),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
            times.append(time.monotonic() - t)
        self.assertLess(sorted(times)[len(times) // 2], 0.03, times)

    def test_churn_applies_each_object_on_its_schedule_as_its_own_event(self):
        rv = self.ctl("/apply", se("c"))["resourceVersion"]
        s = self.watch("watch=1&resourceVersion=" + rv)
        self.assert_watch_stream(s)
        addrs = ["240.0.1.%d" % k for k in range(1, 11)]
        t0 = time.monotonic()
        self.assertEqual(self.ctl("/churn", {"objects": [se("c", addr=a) for a in addrs],
                                             "rate": 50})["objects"], 10)
        with self.assertRaises(AssertionError):  # one churn at a time: ctl() asserts HTTP 200
            self.ctl("/churn", {"objects": [se("c")], "rate": 50})
        got = [s.event() for _ in addrs]
        self.assertEqual([e["type"] for e in got], ["MODIFIED"] * 10)
        self.assertEqual([e["object"]["spec"]["addresses"][0] for e in got], addrs)
        # the tenth is due at 9/50 s: not all at once
        self.assertGreaterEqual(time.monotonic() - t0, 0.17)
        for _ in range(100):
            st = self.ctl("/churn-status", {})
            if not st["running"]:
                break
            time.sleep(0.02)
        self.assertEqual((st["running"], st["done"], st["error"]), (False, 10, None))

    def test_watch_from_zero_and_unset(self):
        self.ctl("/apply", {"objects": [se("z", "ns1"), se("a", "ns2"), se("m", "ns1")]})
        for q in ("watch=1&resourceVersion=0", "watch=1"):
            s = self.watch(q)
            got = [(e["type"], e["object"]["metadata"]["namespace"], e["object"]["metadata"]["name"])
                   for e in (s.event(), s.event(), s.event())]
            # synthetic ADDED in key order, not RV order
            self.assertEqual(got, [("ADDED", "ns1", "m"), ("ADDED", "ns1", "z"), ("ADDED", "ns2", "a")])
        self.ctl("/apply", se("n", "ns3"))
        for s in self.streams:
            e = s.event()
            self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "n"))

    def test_bookmarks(self):
        rv = self.ctl("/apply", se("a"))["resourceVersion"]
        s = self.watch("watch=1&allowWatchBookmarks=true&resourceVersion=" + rv)
        e = s.event()
        self.assertEqual(e["type"], "BOOKMARK")
        self.assertEqual(e["object"], {"kind": "ServiceEntry", "apiVersion": "networking.istio.io/v1",
                                       "metadata": {"resourceVersion": rv}})
        rv2 = self.ctl("/apply", se("b"))["resourceVersion"]
        self.assertEqual(s.event()["type"], "ADDED")
        e = s.event()
        self.assertEqual((e["type"], e["object"]["metadata"]["resourceVersion"]), ("BOOKMARK", rv2))
        # without allowWatchBookmarks: no bookmarks, clean end at timeout with no event
        s2 = self.watch("watch=1&timeoutSeconds=1&resourceVersion=" + rv2)
        self.assertEqual(s2.events_until_end(), [])

    def test_watch_list_send_initial_events(self):
        self.ctl("/apply", {"objects": [se("a"), se("b")]})
        s = self.watch("watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
        evs = [s.event() for _ in range(3)]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "ADDED", "BOOKMARK"])
        self.assertEqual(evs[2]["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})
        r, b = self.get(SE + "?watch=1&sendInitialEvents=true")
        self.assert_status(r, b, 422, "Invalid")
        self.ctl("/fault", {"watch_list": False})
        r, b = self.get(SE + "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                             "&allowWatchBookmarks=true")
        self.assert_status(r, b, 422, "Invalid")

    def test_410_inside_200_stream_after_compaction(self):
        rv = self.ctl("/apply", se("a"))["resourceVersion"]
        self.ctl("/apply", se("b"))
        self.ctl("/compact")
        s = self.watch("watch=1&resourceVersion=" + rv)
        self.assert_watch_stream(s)
        evs = s.events_until_end()
        self.assertEqual(len(evs), 1)
        e = evs[0]
        self.assertEqual(e["type"], "ERROR")
        o = e["object"]
        self.assertEqual((o["kind"], o["apiVersion"], o["status"], o["code"], o["reason"]),
                         ("Status", "v1", "Failure", 410, "Expired"))
        self.assertRegex(o["message"], r"^too old resource version: %s \(\d+\)$" % rv)
        # the current RV still works; a too-large RV gets ERROR 504 ResourceVersionTooLarge
        cur = self.getj(SE)["metadata"]["resourceVersion"]
        s = self.watch("watch=1&timeoutSeconds=1&resourceVersion=" + cur)
        self.assertEqual(s.events_until_end(), [])
        s = self.watch("watch=1&resourceVersion=%d" % (int(cur) + 100))
        e = s.events_until_end()[0]
        self.assertEqual((e["type"], e["object"]["code"]), ("ERROR", 504))
        self.assertEqual(e["object"]["details"]["causes"][0]["reason"], "ResourceVersionTooLarge")

    def test_timeout_seconds_clean_end_and_keepalive(self):
        rv = self.ctl("/apply", se("a"))["resourceVersion"]
        t = time.monotonic()
        s = self.watch("watch=1&timeoutSeconds=1&resourceVersion=" + rv)
        self.assert_watch_stream(s)  # headers arrive before any event
        self.assertLess(time.monotonic() - t, 0.5)
        self.assertEqual(s.events_until_end(), [])
        el = time.monotonic() - t
        self.assertGreaterEqual(el, 0.95)
        self.assertLess(el, 2.0)
        s.request("/apis")  # same connection reusable after the terminating chunk
        self.assertEqual(s.status, 200)

    def test_chunk_splitting_and_coalescing(self):
        rv = self.ctl("/apply", se("a"))["resourceVersion"]
        s = self.watch("watch=1&resourceVersion=" + rv)
        objs = [se("m%d" % i, hosts=["h%d.global" % i]) for i in range(3)]
        self.ctl("/apply", {"objects": objs})  # one write batch -> several events in one chunk
        c = s.chunk()
        self.assertEqual(c.count(b"\n"), 3)
        self.assertTrue(c.endswith(b"\n"))
        self.ctl("/fault", {"split_chunks": True})
        s2 = self.watch("watch=1&resourceVersion=" + rv)
        sizes, data = [], b""
        while data.count(b"\n") < 3:
            c = s2.chunk()
            sizes.append(len(c))
            data += c
        self.assertTrue(all(n % 2 == 1 for n in sizes[:-1]), sizes)
        self.assertGreater(len(sizes), 10)
        s3 = self.watch("watch=1&resourceVersion=" + rv)
        evs = [s3.event() for _ in range(3)]
        self.assertEqual([e["object"]["metadata"]["name"] for e in evs], ["m0", "m1", "m2"])
        self.assertEqual(evs[1]["object"]["spec"]["hosts"], ["h1.global"])

    def test_stall_and_drop(self):
        rv = self.ctl("/apply", se("a"))["resourceVersion"]
        s = self.watch("watch=1&resourceVersion=" + rv, )
        self.ctl("/fault", {"stall": True})
        self.ctl("/apply", se("b"))
        s.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            s.chunk()
        s.sock.settimeout(5)
        self.ctl("/fault", {"stall": False})
        self.assertEqual(s.event()["object"]["metadata"]["name"], "b")
        self.ctl("/fault", {"drop": True})
        with self.assertRaises((EOFError, ConnectionError, ssl.SSLError)):
            s.chunk()
        self.assertFalse(s.ended)  # no terminating chunk: an unclean end
        # drop after N events, in the middle of the next event
        self.ctl("/fault", {"drop_after_events": 1, "drop_partial": True})
        s = self.watch("watch=1")  # two synthetic ADDED events are due
        data = b""
        with self.assertRaises((EOFError, ConnectionError, ssl.SSLError)):
            while True:
                data += s.chunk()
        self.assertFalse(s.ended)
        self.assertEqual(data.count(b"\n"), 1)
        first, partial = data.split(b"\n")
        self.assertEqual(json.loads(first)["type"], "ADDED")
        self.assertTrue(partial.startswith(b'{"type":"ADDED"'))
        with self.assertRaises(ValueError):
            json.loads(partial)

    def test_down_and_up(self):
        self.getj("/apis")
        s = self.watch("watch=1")
        self.ctl("/fault", {"down": True})
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.api), timeout=2).close()
        with self.assertRaises((EOFError, ConnectionError, ssl.SSLError, OSError)):
            s.chunk()
        self.ctl("/fault", {"up": True})
        self.getj("/apis")

    # ---- faults ----
    def test_429_with_retry_after_and_stats(self):
        self.ctl("/stats", {"reset": True})
        self.ctl("/fault", {"status": 429, "count": 2, "retry_after": 3, "path_contains": "serviceentries"})
        self.getj("/apis")  # not matched by path_contains
        for _ in range(2):
            r, b = self.get(SE)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.getheader("Retry-After"), "3")
            self.assertTrue(r.getheader("Content-Type").startswith("text/plain"))
            self.assertEqual(b, b"Too many requests, please try again later.\n")
        self.getj(SE)
        st = self.ctl("/stats")
        self.assertEqual(st["by_path"]["/apis/networking.istio.io/v1/serviceentries"], 3)
        self.assertEqual(sum(st["by_path_per_second"]["/apis/networking.istio.io/v1/serviceentries"].values()), 3)
        self.assertEqual([r["status"] for r in st["requests"]], [200, 429, 429, 200])

    def test_5xx_storm(self):
        self.ctl("/fault", {"status": 503, "count": 3})
        for _ in range(3):
            r, b = self.get(SE)
            self.assert_status(r, b, 503, "ServiceUnavailable")
        self.getj(SE)
        self.ctl("/fault", {"status": 500, "count": -1})  # until cleared
        for _ in range(2):
            r, b = self.get(SE)
            self.assert_status(r, b, 500, "InternalError")
        self.ctl("/fault", {"clear": True})
        self.getj(SE)

    # ---- scale ----
    def test_bulk_100k_paginated_list(self):
        t = time.monotonic()
        self.ctl("/bulk", {"count": 100000, "namespaces": 100})
        t_bulk = time.monotonic() - t
        c = self.conn()
        t = time.monotonic()
        n, pages, tok, snap = 0, 0, "", None
        while True:
            r, b = self.get(SE + "?limit=500" + ("&continue=" + tok if tok else ""), conn=c)
            self.assertEqual(r.status, 200)
            lst = json.loads(b)
            snap = snap or lst["metadata"]["resourceVersion"]
            self.assertEqual(lst["metadata"]["resourceVersion"], snap)
            n += len(lst["items"])
            pages += 1
            tok = lst["metadata"].get("continue")
            if not tok:
                break
        t_list = time.monotonic() - t
        sys.stderr.write("\n100k: bulk %.2fs, paginated list (limit=500, %d pages) %.2fs\n"
                         % (t_bulk, pages, t_list))
        self.assertEqual(n, 100000)
        self.assertEqual(pages, 200)
        last = lst["items"][-1]
        self.assertEqual(last["spec"]["hosts"], ["%s.%s.global" % (last["metadata"]["name"],
                                                                  last["metadata"]["namespace"])])
        self.assertTrue(last["spec"]["addresses"][0].startswith("240."))
        self.assertLess(t_list, 10.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
