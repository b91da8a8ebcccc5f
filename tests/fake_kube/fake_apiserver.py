#!/usr/bin/python3
"""Fake kube-apiserver for globaldns tests (Python 3 standard library only).

Serves Istio ServiceEntries (networking.istio.io) over HTTPS / HTTP/1.1 with the
list/watch protocol described in /work/shared/research/kubernetes-watch-facts.md,
plus a plain-HTTP JSON control port on 127.0.0.1 for tests. See README.md.

Start:  fake_apiserver.py --cert server.crt --key server.key [--client-ca ca.crt]
                          [--token T ...] [--api-port 0] [--control-port 0]
prints: READY api=<port> control=<port>
"""

import argparse
import base64
import bisect
import gc
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GROUP = "networking.istio.io"
KIND = "ServiceEntry"
PLURAL = "serviceentries"
HERE = os.path.dirname(os.path.abspath(__file__))


def jdump(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"))


def status_obj(code, reason, message, details=None, meta=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": meta or {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def make_certs(directory):
    """Create ca/server/client certs in directory with make_certs.sh (openssl CLI)."""
    subprocess.run(["/bin/sh", os.path.join(HERE, "make_certs.sh"), directory], check=True)
    out = {}
    for n in ("ca", "server", "client"):
        out[n + "_crt"] = os.path.join(directory, n + ".crt")
        out[n + "_key"] = os.path.join(directory, n + ".key")
    return out


def parse_selector(s):
    """Equality/set-less label selector: k=v, k==v, k!=v, k, !k (comma-separated)."""
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append(("ne", k.strip(), v.strip()))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append(("eq", k.strip(), v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append(("eq", k.strip(), v.strip()))
        elif part.startswith("!"):
            reqs.append(("absent", part[1:].strip(), None))
        else:
            reqs.append(("exists", part, None))
    return reqs


def selector_matches(reqs, obj):
    if not reqs:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    for op, k, v in reqs:
        if op == "eq" and labels.get(k) != v:
            return False
        if op == "ne" and labels.get(k) == v:
            return False
        if op == "exists" and k not in labels:
            return False
        if op == "absent" and k in labels:
            return False
    return True


class Version:
    """One stored revision of an object. obj None = tombstone (deleted at rv)."""
    __slots__ = ("rv", "obj", "cache")

    def __init__(self, rv, obj):
        self.rv = rv
        self.obj = obj
        self.cache = {}

    def encode(self, api_version, obj=None):
        """JSON of the object under api_version (sorted keys, compact), cached per version.

        Sorted keys put apiVersion and kind first, so the rest is encoded once and shared."""
        if obj is not None:
            return '{"apiVersion":"%s","kind":"%s",%s' % (api_version, KIND, jdump(obj)[1:])
        s = self.cache.get(api_version)
        if s is None:
            rest = self.cache.get("")
            if rest is None:
                rest = self.cache[""] = jdump(self.obj)[1:]
            s = self.cache[api_version] = '{"apiVersion":"%s","kind":"%s",%s' % (api_version, KIND, rest)
        return s


class Event:
    __slots__ = ("rv", "type", "key", "ver", "prev")

    def __init__(self, rv, typ, key, ver, prev):
        self.rv, self.type, self.key, self.ver, self.prev = rv, typ, key, ver, prev


class State:
    def __init__(self, tokens=(), versions=("v1", "v1beta1", "v1alpha3"), preferred="v1",
                 bookmark_interval=60.0):
        self.cond = threading.Condition()
        self.init_tokens = set(tokens)
        self.init_versions = list(versions)
        self.init_preferred = preferred
        self.init_bookmark = bookmark_interval
        self.stats_lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.cond:
            self.rv = 1  # like etcd, start above 0
            self.versions = {}  # key "ns/name" -> [Version...] ascending rv
            self.keys = []  # sorted keys present in self.versions
            self.history = []  # Events, ascending rv, all with rv > compact_rv
            self.hist_base = 0  # absolute index of history[0]
            self.compact_rv = 1
            self.continue_min_rv = 0  # continue tokens with rv below this are expired
            self.tokens = set(self.init_tokens)
            self.client_cert_auth = True
            self.served_versions = list(self.init_versions)
            self.preferred = self.init_preferred
            self.bookmark_interval = self.init_bookmark
            self.watch_list = True
            self.faults = []  # [{"status","count","retry_after","path_contains","body"}]
            self.stall = False
            self.split_chunks = False
            self.drop_gen = 0
            self.drop_after_events = None  # drop every new watch after N events
            self.drop_partial = False
            self.list_delay = 0.0
            self.list_cache = None  # (rv, api_version, [encoded object or None per key]) for list pages
            self.cond.notify_all()
        with self.stats_lock:
            self.requests = []
            self.emitted = {}  # rv -> time.monotonic() when a watch stream first wrote its event
        self.t0 = time.time()

    # ---- store (caller holds self.cond) ----
    def _write(self, key, obj, typ):
        self.rv += 1
        rv = self.rv
        vers = self.versions.get(key)
        prev = vers[-1] if vers else None
        if obj is not None:
            obj["metadata"]["resourceVersion"] = str(rv)
        ver = Version(rv, obj)
        if vers is None:
            self.versions[key] = [ver]
            bisect.insort(self.keys, key)
        else:
            vers.append(ver)
        if typ == "DELETED":
            last = dict(prev.obj)
            last["metadata"] = dict(last["metadata"], resourceVersion=str(rv))
            ev = Event(rv, typ, key, Version(rv, last), prev)
        else:
            ev = Event(rv, typ, key, ver, prev if prev and prev.obj is not None else None)
        self.history.append(ev)
        return ev

    def current(self, key):
        vers = self.versions.get(key)
        if vers and vers[-1].obj is not None:
            return vers[-1]
        return None

    def apply(self, obj):
        md = obj.get("metadata") or {}
        name = md.get("name")
        if not name:
            raise ValueError("metadata.name required")
        ns = md.get("namespace") or "default"
        key = ns + "/" + name
        cur = self.current(key)
        new = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        newmd = {"name": name, "namespace": ns}
        for f in ("labels", "annotations"):
            if md.get(f):
                newmd[f] = dict(md[f])
        if cur is None:
            newmd["uid"] = str(uuid.uuid4())
            newmd["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            newmd["generation"] = 1
            new["metadata"] = newmd
            return self._write(key, new, "ADDED")
        old = cur.obj
        same = all(old.get(k) == new.get(k) for k in set(old) | set(new) if k != "metadata") \
            and all(old["metadata"].get(f) == newmd.get(f) for f in ("labels", "annotations"))
        if same:
            return None  # no-op update: no new resourceVersion, no event (like the real apiserver)
        for f in ("uid", "creationTimestamp"):
            newmd[f] = old["metadata"][f]
        newmd["generation"] = old["metadata"]["generation"] + (
            1 if old.get("spec") != new.get("spec") else 0)
        new["metadata"] = newmd
        return self._write(key, new, "MODIFIED")

    def delete(self, ns, name):
        key = ns + "/" + name
        if self.current(key) is None:
            return None
        return self._write(key, None, "DELETED")

    def compact(self, rv=None):
        c = self.rv if rv is None else min(int(rv), self.rv)
        if c <= self.compact_rv:
            return
        removed = False
        for key in list(self.versions):
            vers = self.versions[key]
            i = len(vers) - 1
            while i >= 0 and vers[i].rv > c:
                i -= 1
            if i < 0:
                continue
            keep = vers[i:] if vers[i].obj is not None else vers[i + 1:]
            if keep:
                if len(keep) != len(vers):
                    self.versions[key] = keep
            else:
                del self.versions[key]
                removed = True
        if removed:
            self.keys = sorted(self.versions)
            self.list_cache = None  # aligned with the keys it was built from
        n = bisect.bisect_right(self.history, c, key=lambda e: e.rv)
        del self.history[:n]
        self.hist_base += n
        self.compact_rv = c
        self.cond.notify_all()

    def encoded_at_head(self, api_version):
        """Every key's current object encoded under api_version (None for a tombstone), aligned with
        self.keys. Kept until the next write, so the pages of one list cost a slice each, as the real
        apiserver's watch cache keeps lists cheap; built in one pass on the first page."""
        c = self.list_cache
        if c is None or c[0] != self.rv or c[1] != api_version:
            versions = self.versions
            enc = [None if v.obj is None else v.encode(api_version)
                   for v in (versions[k][-1] for k in self.keys)]
            c = self.list_cache = (self.rv, api_version, enc)
        return c[2]

    def version_at(self, key, rv):
        vers = self.versions.get(key)
        if not vers:
            return None
        for i in range(len(vers) - 1, -1, -1):
            if vers[i].rv <= rv:
                return vers[i] if vers[i].obj is not None else None
        return None

    # ---- faults / stats ----
    def take_fault(self, path):
        with self.cond:
            for f in self.faults:
                pc = f.get("path_contains")
                if pc and pc not in path:
                    continue
                if f["count"] == 0:
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                return dict(f)
            self.faults = [f for f in self.faults if f["count"] != 0]
        return None

    def record(self, method, path, query, status, watch):
        now = time.time()
        with self.stats_lock:
            self.requests.append({"t": round(now, 6), "method": method, "path": path,
                                  "query": query, "status": status, "watch": watch})
            if len(self.requests) > 200000:
                del self.requests[:100000]

    def note_emitted(self, rvs, t):
        """Remember when a watch stream first wrote the events of rvs: t, taken just before the write.

        t is time.monotonic(), CLOCK_MONOTONIC, shared by every process on Linux, so a benchmark
        can subtract it from its own time.monotonic() (bench/kube_sync.py); taken before the write,
        no client can have read the event before t. Bounded: the oldest half is dropped past
        200,000 entries."""
        if not rvs:
            return
        with self.stats_lock:
            em = self.emitted
            for rv in rvs:
                em.setdefault(rv, t)
            if len(em) > 200000:
                for rv in list(em)[:100000]:
                    del em[rv]

    def stats(self):
        with self.stats_lock:
            reqs = list(self.requests)
        by_path, by_sec = {}, {}
        for r in reqs:
            by_path[r["path"]] = by_path.get(r["path"], 0) + 1
            d = by_sec.setdefault(r["path"], {})
            s = str(int(r["t"]))
            d[s] = d.get(s, 0) + 1
        return {"total": len(reqs), "by_path": by_path, "by_path_per_second": by_sec,
                "requests": reqs}


def cont_encode(rv, start):
    raw = jdump({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cont_decode(tok):
    pad = "=" * (-len(tok) % 4)
    d = json.loads(base64.urlsafe_b64decode(tok + pad))
    if d.get("v") != "meta.k8s.io/v1" or not isinstance(d.get("rv"), int):
        raise ValueError("bad continue")
    return d["rv"], str(d["start"])


class DropConnection(Exception):
    pass


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""
    timeout = 90  # idle keep-alive timeout, like the real apiserver

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_KUBE_VERBOSE"):
            sys.stderr.write("api: " + (fmt % args) + "\n")

    def setup(self):
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        with self.server.conns_lock:
            self.server.conns.discard(self.connection)

    def handle(self):
        try:
            super().handle()
        except (OSError, ssl.SSLError, DropConnection):
            self.close_connection = True

    # ---- response helpers ----
    def send_body(self, code, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        if len(data) > 2048:  # like Go net/http: no Content-Length -> chunked past 2 KiB
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            out = [b"%x\r\n%s\r\n" % (len(data[i:i + 65536]), data[i:i + 65536])
                   for i in range(0, len(data), 65536)]
            self.wfile.write(b"".join(out) + b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(data)
            self.flush_headers()
        self.wfile.flush()
        self.status_code = code

    def send_status(self, code, reason, message, **kw):
        self.send_body(code, jdump(status_obj(code, reason, message, **kw)))

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_response(self, code, message=None):
        self.status_code = code
        # Recorded before the headers can reach the client: a test that reads /stats right
        # after its response must find the request counted.
        self.record_once(code)
        super().send_response(code, message)

    def record_once(self, status):
        pending, self.pending_record = getattr(self, "pending_record", None), None
        if pending:
            method, path, query, watch = pending
            self.server.state.record(method, path, query, status, watch)

    # ---- dispatch ----
    def do_GET(self):
        st = self.server.state
        u = urlsplit(self.path)
        path = u.path.rstrip("/") or "/"
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        watch = q.get("watch", "").lower() in ("1", "t", "true")
        self.status_code = 0
        self.pending_record = ("GET", path, u.query, watch)
        try:
            self.route(st, path, q, watch)
        finally:
            self.record_once(self.status_code)  # no response sent: recorded with status 0

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        st = self.server.state
        path = urlsplit(self.path).path
        self.status_code = 0
        self.pending_record = ("POST", path, "", False)
        try:
            if not self.authenticated(st):
                return self.send_status(401, "Unauthorized", "Unauthorized")
            self.send_status(405, "MethodNotAllowed",
                             "the fake apiserver is read-only; use the control port")
        finally:
            self.record_once(self.status_code)

    do_PUT = do_PATCH = do_DELETE = do_POST

    def authenticated(self, st):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            with st.cond:
                return auth[7:].strip() in st.tokens
        if st.client_cert_auth and self.server.client_ca:
            try:
                return bool(self.connection.getpeercert())
            except (ValueError, AttributeError):
                return False
        return False

    def route(self, st, path, q, watch):
        f = st.take_fault(path)
        if f:
            code = f["status"]
            hdrs = [("Retry-After", str(f["retry_after"]))] if f.get("retry_after") is not None else []
            if f.get("raw"):
                return self.send_body(code, f.get("body") or "", headers=hdrs)
            if code == 429:
                return self.send_body(429, f.get("body") or "Too many requests, please try again later.\n",
                                      "text/plain; charset=utf-8", hdrs)
            reason = {500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}.get(code, "InternalError")
            return self.send_body(code, jdump(status_obj(code, reason, f.get("body") or "fault injected")),
                                  headers=hdrs)
        if path in ("/healthz", "/readyz", "/livez"):
            return self.send_body(200, "ok", "text/plain; charset=utf-8")
        if not self.authenticated(st):
            return self.send_status(401, "Unauthorized", "Unauthorized")
        parts = path.strip("/").split("/")
        with st.cond:
            served = list(st.served_versions)
            preferred = st.preferred
        if path == "/version":
            return self.send_body(200, jdump({"major": "1", "minor": "35", "gitVersion": "v1.35.0-fake"}))
        if path == "/api":
            return self.send_body(200, jdump({"kind": "APIVersions", "versions": ["v1"],
                                              "serverAddressByClientCIDRs": [
                                                  {"clientCIDR": "0.0.0.0/0",
                                                   "serverAddress": "127.0.0.1:%d" % self.server.server_address[1]}]}))
        if path == "/apis":
            return self.send_body(200, jdump({"kind": "APIGroupList", "apiVersion": "v1",
                                              "groups": [self.api_group(served, preferred)] if served else []}))
        if parts[0] != "apis" or len(parts) < 2 or parts[1] != GROUP:
            return self.not_found()
        if len(parts) == 2:
            if not served:
                return self.not_found()
            g = self.api_group(served, preferred)
            g.update({"kind": "APIGroup", "apiVersion": "v1"})
            return self.send_body(200, jdump(g))
        v = parts[2]
        if v not in served:
            return self.not_found()
        rest = parts[3:]
        if not rest:
            return self.send_body(200, jdump(self.resource_list(v)))
        ns = None
        if rest[0] == "watch":  # deprecated /watch/ prefix
            watch = True
            rest = rest[1:]
        if len(rest) >= 2 and rest[0] == "namespaces":
            ns = rest[1]
            rest = rest[2:]
        if not rest or rest[0] != PLURAL or len(rest) > 2:
            return self.not_found()
        if len(rest) == 2:
            if ns is None:
                return self.not_found()
            return self.get_one(st, v, ns, rest[1])
        if watch:
            return self.serve_watch(st, v, ns, q)
        return self.serve_list(st, v, ns, q)

    def not_found(self):
        self.send_status(404, "NotFound", "the server could not find the requested resource",
                         details={})

    @staticmethod
    def api_group(served, preferred):
        pv = preferred if preferred in served else served[0]
        return {"name": GROUP,
                "versions": [{"groupVersion": GROUP + "/" + v, "version": v} for v in served],
                "preferredVersion": {"groupVersion": GROUP + "/" + pv, "version": pv}}

    @staticmethod
    def resource_list(v):
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP + "/" + v,
                "resources": [
                    {"name": PLURAL, "singularName": "serviceentry", "namespaced": True, "kind": KIND,
                     "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
                     "shortNames": ["se"], "categories": ["istio-io", "networking-istio-io"]},
                    {"name": PLURAL + "/status", "singularName": "", "namespaced": True, "kind": KIND,
                     "verbs": ["get", "patch", "update"]}]}

    def get_one(self, st, v, ns, name):
        with st.cond:
            ver = st.current(ns + "/" + name)
            body = ver.encode(GROUP + "/" + v) if ver else None
        if body is None:
            return self.send_status(404, "NotFound", '%s.%s "%s" not found' % (PLURAL, GROUP, name),
                                    details={"name": name, "group": GROUP, "kind": PLURAL})
        self.send_body(200, body)

    # ---- list ----
    def serve_list(self, st, v, ns, q):
        av = GROUP + "/" + v
        try:
            limit = int(q.get("limit") or 0)
            reqs = parse_selector(q.get("labelSelector", ""))
        except ValueError:
            return self.send_status(400, "BadRequest", "invalid limit or labelSelector")
        if limit < 0:
            limit = 0
        cont = q.get("continue", "")
        rvq = q.get("resourceVersion", "")
        match = q.get("resourceVersionMatch", "")
        if st.list_delay:
            time.sleep(st.list_delay)
        prefix = ns + "/" if ns else ""
        with st.cond:
            if cont:
                try:
                    snap, start = cont_decode(cont)
                except Exception:
                    return self.send_status(400, "BadRequest", "continue key is not valid")
                if rvq:
                    return self.send_status(400, "BadRequest",
                                            "specifying resource version is not allowed when using continue")
                if snap < st.compact_rv or snap < st.continue_min_rv:
                    msg = ("The provided continue parameter is too old to display a consistent list result. "
                           "You can start a new list without the continue parameter, or use the continue "
                           "token in this response to retrieve the remainder of the results. Continuing with "
                           "the provided token results in an inconsistent list - objects that were created, "
                           "modified, or deleted between the time the first chunk was returned and now may "
                           "show up in the list.")
                    return self.send_status(410, "Expired", msg,
                                            meta={"continue": cont_encode(-1, start)})
            else:
                start = prefix
                if rvq and rvq != "0":
                    try:
                        n = int(rvq)
                    except ValueError:
                        return self.send_status(400, "BadRequest", "invalid resourceVersion %r" % rvq)
                    if n > st.rv:
                        return self.send_status(
                            504, "Timeout", "Too large resource version: %d, current: %d" % (n, st.rv),
                            details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                 "message": "Too large resource version"}], "retryAfterSeconds": 1})
                    if match == "Exact":
                        if n < st.compact_rv:
                            return self.send_status(410, "Expired",
                                                    "The resourceVersion for the provided list is too old.")
                        snap = n
                    else:
                        snap = st.rv
                else:
                    snap = st.rv
            keys = st.keys
            i = bisect.bisect_left(keys, start)
            end = len(keys)
            if prefix:
                end = bisect.bisect_left(keys, prefix[:-1] + "0")  # '0' == '/'+1
            items = []
            take = limit if limit else end
            versions = st.versions
            if snap == st.rv and not reqs:
                chunk = st.encoded_at_head(av)[i:min(end, i + take)]
                if None not in chunk:  # a tombstone in the slice: the loop below skips it
                    items = chunk
                    i += len(chunk)
            while i < end and len(items) < take:
                key = keys[i]
                i += 1
                vers = versions[key]
                ver = vers[-1]
                if ver.rv > snap:
                    ver = st.version_at(key, snap)
                    if ver is None:
                        continue
                elif ver.obj is None:
                    continue
                if reqs and not selector_matches(reqs, ver.obj):
                    continue
                items.append(ver.encode(av))
            meta = {"resourceVersion": str(snap)}
            if limit and i < end:
                meta["continue"] = cont_encode(snap, keys[i - 1] + "\x00")
                if not reqs:  # as the real one, only without a selector (keys left, approximate)
                    meta["remainingItemCount"] = end - i
        body = ('{"apiVersion":"' + av + '","items":[' + ",".join(items) + '],"kind":"ServiceEntryList",'
                '"metadata":' + jdump(meta) + '}')
        self.send_body(200, body)

    # ---- watch ----
    def serve_watch(self, st, v, ns, q):
        av = GROUP + "/" + v
        try:
            reqs = parse_selector(q.get("labelSelector", ""))
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        except ValueError:
            return self.send_status(400, "BadRequest", "invalid labelSelector or timeoutSeconds")
        bookmarks = q.get("allowWatchBookmarks", "").lower() in ("1", "t", "true")
        sie = q.get("sendInitialEvents", "")
        send_initial = sie.lower() in ("1", "t", "true")
        rvq = q.get("resourceVersion", "")
        prefix = ns + "/" if ns else ""
        if sie:
            if not st.watch_list:
                return self.send_status(422, "Invalid",
                                        "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: "
                                        "sendInitialEvents is forbidden for watch unless the WatchList feature "
                                        "gate is enabled")
            if q.get("resourceVersionMatch") != "NotOlderThan" or (send_initial and not bookmarks):
                return self.send_status(422, "Invalid",
                                        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                                        "Forbidden: sendInitialEvents requires setting resourceVersionMatch "
                                        "to NotOlderThan and allowWatchBookmarks")
        elif q.get("resourceVersionMatch"):
            return self.send_status(422, "Invalid", "resourceVersionMatch is forbidden for watch")
        if rvq and rvq != "0":
            try:
                int(rvq)
            except ValueError:
                return self.send_status(400, "BadRequest", "invalid resourceVersion %r" % rvq)

        def want(key, obj):
            return (not prefix or key.startswith(prefix)) and selector_matches(reqs, obj)

        error = None
        initial = []
        with st.cond:
            if sie and not send_initial and not rvq:
                pos = st.hist_base + len(st.history)  # sendInitialEvents=false, no RV: from now
            elif not rvq or rvq == "0" or send_initial:
                snap = st.rv
                if send_initial and rvq and rvq != "0" and int(rvq) > snap:
                    error = status_obj(504, "Timeout", "Too large resource version: %s, current: %d" % (rvq, snap),
                                       details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                            "message": "Too large resource version"}],
                                                "retryAfterSeconds": 1})
                for key in st.keys:
                    ver = st.versions[key][-1]
                    if ver.obj is not None and want(key, ver.obj):
                        initial.append(ver.encode(av))
                pos = st.hist_base + len(st.history)
            else:
                n = int(rvq)
                pos = 0
                if n < st.compact_rv:
                    error = status_obj(410, "Expired", "too old resource version: %d (%d)" % (n, st.compact_rv))
                elif n > st.rv:
                    error = status_obj(504, "Timeout", "Too large resource version: %d, current: %d" % (n, st.rv),
                                       details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                            "message": "Too large resource version"}],
                                                "retryAfterSeconds": 1})
                else:
                    pos = st.hist_base + bisect.bisect_right(st.history, n, key=lambda e: e.rv)
            drop_gen = st.drop_gen
            drop_after = st.drop_after_events
            drop_partial = st.drop_partial
            last_rv = st.rv

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        sent = [0]

        def emit(lines):
            """Write event lines as one chunk (or split at odd byte positions)."""
            if not lines:
                return
            if drop_after is not None and sent[0] + len(lines) > drop_after:
                keep = max(0, drop_after - sent[0])
                data = "".join(lines[:keep]).encode()
                if drop_partial and keep < len(lines):
                    nxt = lines[keep].encode()
                    data += nxt[:len(nxt) // 2]
                self.write_chunk(data)
                self.wfile.flush()
                self.drop()
            sent[0] += len(lines)
            data = "".join(lines).encode()
            if st.split_chunks:
                sizes = (1, 3, 5, 7, 11, 13, 17)
                off = j = 0
                while off < len(data):
                    sz = sizes[j % len(sizes)]
                    self.write_chunk(data[off:off + sz])
                    off += sz
                    j += 1
            else:
                self.write_chunk(data)
            self.wfile.flush()

        def ev_line(typ, obj_json):
            return '{"type":"' + typ + '","object":' + obj_json + '}\n'

        def bookmark(rv, initial_end=False):
            md = {"resourceVersion": str(rv)}
            if initial_end:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            return ev_line("BOOKMARK", jdump({"kind": KIND, "apiVersion": av, "metadata": md}))

        if error is not None:
            emit([ev_line("ERROR", jdump(error))])
            return self.end_stream()
        for i in range(0, len(initial), 500):
            emit([ev_line("ADDED", s) for s in initial[i:i + 500]])
        if send_initial:
            emit([bookmark(last_rv, True)])

        start = time.monotonic()
        deadline = start + timeout if timeout else None
        next_bm = None
        while True:
            lines = []
            rvs = []  # resourceVersions of the change events in lines, for note_emitted
            with st.cond:
                while True:
                    now = time.monotonic()
                    if st.drop_gen != drop_gen:
                        break
                    if st.stall:
                        st.cond.wait(0.5)
                        continue
                    if pos < st.hist_base + len(st.history) or pos < st.hist_base:
                        break
                    if deadline is not None and now >= deadline:
                        break
                    if bookmarks and st.bookmark_interval and st.bookmark_interval > 0:
                        if next_bm is None:
                            next_bm = now + st.bookmark_interval
                        if now >= next_bm:
                            break
                    waits = [1.0]
                    if deadline is not None:
                        waits.append(deadline - now)
                    if next_bm is not None and bookmarks:
                        waits.append(next_bm - now)
                    st.cond.wait(max(0.001, min(waits)))
                if st.drop_gen != drop_gen:
                    dropped = True
                else:
                    dropped = False
                    if pos < st.hist_base:
                        lines.append(ev_line("ERROR", jdump(status_obj(
                            410, "Expired", "too old resource version: %d (%d)" % (last_rv, st.compact_rv)))))
                        pos = -1
                    else:
                        evs = st.history[pos - st.hist_base:]
                        pos += len(evs)
                        for e in evs:
                            last_rv = e.rv
                            now_match = e.ver.obj is not None and want(e.key, e.ver.obj)
                            if e.type == "DELETED":
                                if now_match:
                                    lines.append(ev_line("DELETED", e.ver.encode(av)))
                                    rvs.append(e.rv)
                                continue
                            was = e.prev is not None and want(e.key, e.prev.obj)
                            if now_match:
                                lines.append(ev_line("MODIFIED" if was else "ADDED", e.ver.encode(av)))
                                rvs.append(e.rv)
                            elif was:
                                lines.append(ev_line("DELETED", e.ver.encode(av)))
                                rvs.append(e.rv)
                        if not evs and bookmarks and next_bm is not None and time.monotonic() >= next_bm:
                            lines.append(bookmark(st.rv))
                            last_rv = st.rv
                            next_bm = time.monotonic() + st.bookmark_interval
            if dropped:
                self.drop()
            t_write = time.monotonic()
            emit(lines)
            st.note_emitted(rvs, t_write)
            if pos == -1:
                return self.end_stream()
            if deadline is not None and time.monotonic() >= deadline and not lines:
                return self.end_stream()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise DropConnection()


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, state, ctx, client_ca):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.ctx = ctx
        self.client_ca = client_ca
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, ApiHandler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls
        # handshake happens lazily in the handler thread, not in the accept loop
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        if os.environ.get("FAKE_KUBE_VERBOSE"):
            super().handle_error(request, client_address)

    def drop_all(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Churn(threading.Thread):
    """Applies prepared objects one at a time on a fixed schedule (object k is due at k/rate s),
    inside this process: a load of N changes per second costs no control request per change,
    which on a small machine would take CPU from what is being measured. An object that comes
    due while the previous one is still being applied goes at once, so the mean rate holds;
    `late` counts those applied more than one period after they were due."""

    def __init__(self, state, objects, rate, limit_s):
        super().__init__(daemon=True)
        self.state, self.objects, self.rate, self.limit_s = state, objects, rate, limit_s
        self.stop_event = threading.Event()
        self.done = 0
        self.late = 0
        self.elapsed = 0.0
        self.error = None
        self.t0 = time.monotonic()

    def run(self):
        st = self.state
        t0 = self.t0 = time.monotonic()
        try:
            for k, obj in enumerate(self.objects):
                due = t0 + k / self.rate
                now = time.monotonic()
                if now - t0 > self.limit_s or self.stop_event.is_set():
                    break
                if due > now:
                    if self.stop_event.wait(due - now):
                        break
                elif now - due > 1.0 / self.rate:
                    self.late += 1
                with st.cond:
                    st.apply(obj)
                    st.cond.notify_all()
                self.done += 1
        except Exception as e:  # reported by /churn-status
            self.error = repr(e)
        finally:
            self.elapsed = time.monotonic() - t0

    def status(self):
        return {"running": self.is_alive(), "done": self.done, "late": self.late,
                "elapsed": time.monotonic() - self.t0 if self.is_alive() else self.elapsed,
                "error": self.error}


class FakeKube:
    """The fake apiserver plus its control port. Usable in-process or via main()."""

    def __init__(self, cert, key, client_ca=None, host="127.0.0.1", api_port=0, control_port=0,
                 tokens=(), versions=("v1", "v1beta1", "v1alpha3"), preferred="v1", bookmark_interval=60.0):
        self.state = State(tokens, versions, preferred, bookmark_interval)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.client_ca = client_ca
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_OPTIONAL
            self.ctx.load_verify_locations(client_ca)
        self.host = host
        self.api_lock = threading.Lock()
        self.api = ApiServer((host, api_port), self.state, self.ctx, client_ca)
        self.api_port = self.api.server_address[1]
        self.control = ThreadingHTTPServer(("127.0.0.1", control_port), ControlHandler)
        self.control.daemon_threads = True
        self.control.fake = self
        self.control_port = self.control.server_address[1]
        self.threads = []
        self.churn = None  # the running or last /churn

    def start(self):
        self._serve(self.api)
        self._serve(self.control)
        return self

    def _serve(self, srv):
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        self.threads.append(t)

    def down(self):
        with self.api_lock:
            if self.api is None:
                return
            api, self.api = self.api, None
        api.shutdown()
        api.server_close()
        api.drop_all()

    def up(self):
        with self.api_lock:
            if self.api is not None:
                return
            for _ in range(100):
                try:
                    self.api = ApiServer((self.host, self.api_port), self.state, self.ctx, self.client_ca)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise OSError("cannot rebind api port %d" % self.api_port)
            self._serve(self.api)

    def stop(self):
        self.down()
        self.control.shutdown()
        self.control.server_close()


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_KUBE_VERBOSE"):
            sys.stderr.write("control: " + (fmt % args) + "\n")

    def reply(self, code, obj):
        data = jdump(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        # Headers and body in one write: as two small writes, the second waits for the client's
        # delayed ACK of the first (Nagle), ~40 ms per request on a keep-alive connection.
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(data)
        self.flush_headers()

    def do_GET(self):
        self.do_POST()

    def do_POST(self):
        fk = self.server.fake
        st = fk.state
        n = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(n) or b"{}") if n else {}
        except ValueError as e:
            return self.reply(400, {"error": "bad json: %s" % e})
        path = urlsplit(self.path).path.rstrip("/")
        try:
            fn = getattr(self, "c_" + path.strip("/").replace("-", "_"), None)
            if fn is None:
                return self.reply(404, {"error": "unknown control endpoint " + path})
            res = fn(fk, st, body)
            with st.cond:
                res.setdefault("resourceVersion", str(st.rv))
            self.reply(200, res)
        except (ValueError, KeyError, TypeError) as e:
            self.reply(400, {"error": repr(e)})

    @staticmethod
    def _objs(body):
        if isinstance(body, list):
            return body
        if "objects" in body:
            return body["objects"]
        if body.get("kind") == "List" or "items" in body:
            return body.get("items", [])
        return [body]

    def c_apply(self, fk, st, body):
        out = []
        with st.cond:
            for o in self._objs(body):
                ev = st.apply(o)
                out.append({"name": o["metadata"]["name"], "namespace": o["metadata"].get("namespace") or "default",
                            "event": ev.type if ev else None, "resourceVersion": str(ev.rv) if ev else None})
            st.cond.notify_all()
            # when the batch was stored and the watchers woken; they write it a little later (/emitted)
            committed = time.monotonic()
        return {"applied": out, "monotonic": committed}

    def c_churn(self, fk, st, body):
        objs = self._objs(body)
        rate = float(body.get("rate", 100))
        if rate <= 0:
            raise ValueError("rate must be positive")
        if fk.churn is not None and fk.churn.is_alive():
            raise ValueError("a churn is already running")
        fk.churn = Churn(st, objs, rate, float(body.get("limit_s", 3600)))
        fk.churn.start()
        return {"objects": len(objs)}

    def c_churn_status(self, fk, st, body):
        if fk.churn is None:
            raise ValueError("no churn was started")
        if body.get("stop"):
            fk.churn.stop_event.set()
            fk.churn.join(30)
        return fk.churn.status()

    def c_emitted(self, fk, st, body):
        rvs = body.get("rvs") or ([body["rv"]] if "rv" in body else [])
        with st.stats_lock:
            found = {str(rv): st.emitted[int(rv)] for rv in rvs if int(rv) in st.emitted}
        return {"emitted": found, "monotonic": time.monotonic()}

    def c_delete(self, fk, st, body):
        out = []
        with st.cond:
            if body.get("all"):
                targets = [k.split("/", 1) for k in st.keys if st.current(k)]
            else:
                targets = []
                for o in self._objs(body):
                    md = o.get("metadata", o)
                    targets.append((md.get("namespace") or "default", md["name"]))
            for ns, name in targets:
                ev = st.delete(ns, name)
                out.append({"name": name, "namespace": ns, "deleted": ev is not None})
            st.cond.notify_all()
        return {"deleted": out}

    def c_compact(self, fk, st, body):
        with st.cond:
            st.compact(body.get("rv"))
            return {"compactRevision": str(st.compact_rv)}

    def c_tokens(self, fk, st, body):
        with st.cond:
            if "tokens" in body:
                st.tokens = set(body["tokens"])
            if "client_cert_auth" in body:
                st.client_cert_auth = bool(body["client_cert_auth"])
            return {"tokens": sorted(st.tokens), "client_cert_auth": st.client_cert_auth}

    def c_fault(self, fk, st, body):
        if body.get("down"):
            fk.down()
        if body.get("up"):
            fk.up()
        with st.cond:
            if body.get("clear"):
                st.faults = []
                st.stall = False
                st.split_chunks = False
                st.drop_after_events = None
                st.drop_partial = False
                st.list_delay = 0.0
            if "status" in body:
                st.faults.append({"status": int(body["status"]), "count": int(body.get("count", 1)),
                                  "retry_after": body.get("retry_after", 1 if int(body["status"]) == 429 else None),
                                  "path_contains": body.get("path_contains"), "body": body.get("body"),
                                  "raw": bool(body.get("raw"))})
            for k in ("stall", "split_chunks", "watch_list", "drop_partial"):
                if k in body:
                    setattr(st, k, bool(body[k]))
            if "drop_after_events" in body:
                st.drop_after_events = None if body["drop_after_events"] is None else int(body["drop_after_events"])
            if "bookmark_interval" in body:
                st.bookmark_interval = float(body["bookmark_interval"])
            if "list_delay" in body:
                st.list_delay = float(body["list_delay"])
            if "versions" in body:
                st.served_versions = list(body["versions"])
            if "preferred" in body:
                st.preferred = body["preferred"]
            if body.get("expire_continue"):
                st.continue_min_rv = st.rv + 1
            if body.get("drop"):
                st.drop_gen += 1
            st.cond.notify_all()
            res = {"faults": st.faults, "stall": st.stall, "split_chunks": st.split_chunks,
                   "drop_after_events": st.drop_after_events, "bookmark_interval": st.bookmark_interval,
                   "versions": st.served_versions, "watch_list": st.watch_list, "down": fk.api is None}
        if body.get("drop_connections"):
            api = fk.api
            if api:
                api.drop_all()
        return res

    c_config = c_fault

    def c_stats(self, fk, st, body):
        res = st.stats()
        if body.get("reset"):
            with st.stats_lock:
                st.requests = []
        return res

    def c_state(self, fk, st, body):
        with st.cond:
            live = sum(1 for k in st.keys if st.current(k))
            return {"objects": live, "compactRevision": str(st.compact_rv), "historyEvents": len(st.history),
                    "api_port": fk.api_port, "down": fk.api is None}

    def c_reset(self, fk, st, body):
        fk.up()
        st.reset()
        return {}

    def c_bulk(self, fk, st, body):
        count = int(body.get("count", 1000))
        nns = max(1, int(body.get("namespaces", 100)))
        first = int(body.get("start", 0))
        labels = body.get("labels")
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        uid_base = uuid.uuid4().hex[:20]
        lbl = jdump(dict(labels)) if labels else None
        gc.disable()
        try:
            return self._bulk(st, first, count, nns, labels, lbl, ts, uid_base)
        finally:
            gc.enable()
            gc.freeze()  # keep the large, long-lived store out of future GC passes

    @staticmethod
    def _bulk(st, first, count, nns, labels, lbl, ts, uid_base):
        with st.cond:
            newkeys = []
            for i in range(first, first + count):
                ns = "ns%d" % (i % nns)
                name = "svc%d" % i
                key = ns + "/" + name
                if key in st.versions and st.current(key):
                    continue
                addr = "240.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
                uid = "%s-%s-%s-%s-%012x" % (uid_base[:8], uid_base[8:12], uid_base[12:16], uid_base[16:20], i)
                md = {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": ts, "generation": 1}
                if labels:
                    md["labels"] = dict(labels)
                obj = {"metadata": md,
                       "spec": {"hosts": ["%s.%s.global" % (name, ns)], "addresses": [addr],
                                "location": "MESH_INTERNAL", "resolution": "STATIC",
                                "ports": [{"name": "http", "number": 80, "protocol": "HTTP"}]}}
                st.rv += 1
                obj["metadata"]["resourceVersion"] = str(st.rv)
                ver = Version(st.rv, obj)
                # same bytes as jdump(obj)[1:] (checked by the tests), without the json cost
                ver.cache[""] = (
                    '"metadata":{"creationTimestamp":"%s","generation":1,%s"name":"%s","namespace":"%s",'
                    '"resourceVersion":"%d","uid":"%s"},"spec":{"addresses":["%s"],"hosts":["%s.%s.global"],'
                    '"location":"MESH_INTERNAL","ports":[{"name":"http","number":80,"protocol":"HTTP"}],'
                    '"resolution":"STATIC"}}' % (ts, '"labels":%s,' % lbl if lbl else "", name, ns, st.rv, uid,
                                               addr, name, ns))
                vers = st.versions.get(key)
                prev = None
                if vers is None:
                    st.versions[key] = [ver]
                    newkeys.append(key)
                else:
                    prev = vers[-1] if vers[-1].obj is not None else None
                    vers.append(ver)
                st.history.append(Event(st.rv, "ADDED", key, ver, prev))
            if newkeys:
                st.keys.extend(newkeys)
                st.keys.sort()
            st.cond.notify_all()
            return {"created": count, "objects": len(st.keys)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cert", help="server certificate (PEM)")
    ap.add_argument("--key", help="server private key (PEM)")
    ap.add_argument("--client-ca", help="CA for optional client-certificate auth")
    ap.add_argument("--certs-dir", help="generate certs with make_certs.sh into this dir and use them")
    ap.add_argument("--host", default="127.0.0.1", help="API bind address (127.0.0.1, ::1, ...)")
    ap.add_argument("--api-port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--token", action="append", default=[], help="valid bearer token (repeatable)")
    ap.add_argument("--versions", default="v1,v1beta1,v1alpha3")
    ap.add_argument("--preferred", default="v1")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    a = ap.parse_args(argv)
    if a.certs_dir:
        if not os.path.exists(os.path.join(a.certs_dir, "server.crt")):
            make_certs(a.certs_dir)
        a.cert = a.cert or os.path.join(a.certs_dir, "server.crt")
        a.key = a.key or os.path.join(a.certs_dir, "server.key")
        a.client_ca = a.client_ca or os.path.join(a.certs_dir, "ca.crt")
    if not a.cert or not a.key:
        ap.error("--cert and --key (or --certs-dir) are required")
    # SIGTERM/SIGINT are blocked here, before any thread starts (threads inherit the mask), and
    # taken with sigwait() below. A Python handler runs only on the main thread, and only if the
    # kernel happens to deliver the signal to it: delivered to a server thread, it left the main
    # thread asleep and the process alive now and then.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    fk = FakeKube(a.cert, a.key, a.client_ca, a.host, a.api_port, a.control_port, a.token,
                  [v for v in a.versions.split(",") if v], a.preferred, a.bookmark_interval)
    fk.start()
    print("READY api=%d control=%d" % (fk.api_port, fk.control_port), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    # in-flight handler threads are daemons; exit without waiting for watch streams
    os._exit(0)


if __name__ == "__main__":
    main()
