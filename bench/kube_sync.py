#!/usr/bin/python3
"""kube_sync.py: benchmark of globaldns's Kubernetes sync against the fake API server.

    /usr/bin/python3 bench/kube_sync.py run --binary BUILD/app/globaldns [-n 1000,100000]
        [-r ROUNDS] [-d SECONDS] [--samples 300] [--quick] [--out DIR] [--no-dnsperf]
    /usr/bin/python3 bench/kube_sync.py self-test --binary BUILD/app/globaldns

Normally started by bench/kube_sync.sh (which installs dnsperf, builds globaldns and documents the
options); `self-test` is the ctest `bench_kube_sync_selftest`: N=60, a few samples, no dnsperf.

For every N it starts tests/fake_kube/fake_apiserver.py (HTTPS, bearer token, own CA) and loads N
ServiceEntries with /bulk (svc<i> in ns<i%100>, host svc<i>.ns<i%100>.global, 240.x.y.z), times a
bare paginated list of them, then starts `globaldns serve --kubeconfig` on 127.0.0.1 and measures:

1. initial sync: from spawning globaldns to its first correct answer for the last object of the
   last list page (keys sort as "ns/name"), and its peak RSS (VmHWM) then;
2. propagation: SAMPLES times, a poller process (this file's `poll` command) asks one name over
   UDP in a loop (--poll-interval-ms apart, 50 ms timeout per query) until it sees the old
   address, the entry's address is changed through the control port, and the poller notes
   time.monotonic() of the first answer with the new address. The fake notes time.monotonic()
   just before its watch stream wrote that event (/emitted); CLOCK_MONOTONIC is one clock for
   all processes on Linux, so latency = seen - written. Resolution: one poll interval plus one
   query round trip;
3. throughput (dnsperf, N=max of the list only): ROUNDS rounds of an idle run and a run while a
   paced updater changes 100 entries/s (the fake's /churn applies them), the order alternating by round.

Every process it starts is stopped by PID (SIGTERM, then SIGKILL after 10 s) on exit, also on
SIGTERM/SIGINT. Every loop has a count and a time bound. Standard library only, for Debian's
/usr/bin/python3; nothing is pinned to a core.
"""

import argparse
import http.client
import json
import math
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAKE = os.path.join(ROOT, "tests", "fake_kube", "fake_apiserver.py")
PYTHON = "/usr/bin/python3"
TOKEN = "bench-token"
NAMESPACES = 100
PAGE = 500  # globaldns's default kubernetes.page_size, and client-go's
SE_PATH = "/apis/networking.istio.io/v1/serviceentries"
DNSPERF_FLAGS = ["-c", "8", "-T", "2", "-q", "500", "-t", "1"]  # as bench/compare.sh

TARGET_P99_MS = 50.0
TARGET_READY_S = 3.0
TARGET_RSS_MIB = 500.0
TARGET_QPS_DROP = 0.10
CONVERGE_LIMIT_S = 60.0  # after an updating run, how long the last change may take to show


def log(*a):
    print("kube_sync:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The data set (the fake's /bulk naming).

def ns_of(i):
    return "ns%d" % (i % NAMESPACES)


def host_of(i):
    return "svc%d.%s.global" % (i, ns_of(i))


def bulk_addr(i):
    return "240.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def last_page_index(n):
    """Index of the object the fake lists last: keys sort as "ns<j>/svc<i>", as strings."""
    return max(range(n), key=lambda i: (ns_of(i), "svc%d" % i))


def se_object(i, addr):
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": "svc%d" % i, "namespace": ns_of(i)},
            "spec": {"hosts": [host_of(i)], "addresses": [addr], "location": "MESH_INTERNAL",
                     "resolution": "STATIC", "ports": [{"name": "http", "number": 80, "protocol": "HTTP"}]}}


class AddressSource:
    """Fresh addresses 240.200.0.1, 240.200.0.2, ...: never a bulk address (N < 2^23), so every
    update is a real change (the fake sends no event for a no-op)."""

    def __init__(self):
        self.k = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.k += 1
            k = self.k % (1 << 22) + 1
        return "240.%d.%d.%d" % (200 + (k >> 16), (k >> 8) & 255, k & 255)


# ---------------------------------------------------------------------------------------------
# DNS over UDP, by hand (the standard library has no DNS client).

def dns_query(name, qid):
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)


def skip_name(msg, off):
    for _ in range(128):
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
    raise ValueError("name too long")


def dns_parse(msg):
    """(id, rcode, [IPv4 addresses in the answer section])."""
    qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    addrs = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return qid, flags & 0xF, addrs


class Resolver:
    """One connected UDP socket; ask() sends one query and waits up to timeout for its reply."""

    def __init__(self, port, timeout=0.05):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.timeout = timeout
        self.qid = random.randrange(65536)
        self.queries = 0

    def ask(self, name):
        """The A addresses (sorted) of name, "NXDOMAIN"/"SERVFAIL"/..., or None on no reply."""
        self.qid = (self.qid + 1) & 0xFFFF
        self.queries += 1
        try:
            self.sock.send(dns_query(name, self.qid))
            end = time.monotonic() + self.timeout
            while True:
                left = end - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    return None
                qid, rcode, addrs = dns_parse(self.sock.recv(4096))
                if qid == self.qid:  # a late reply to an earlier query is dropped
                    break
        except (ConnectionRefusedError, OSError, ValueError, struct.error):
            return None  # nothing listening yet (ICMP port unreachable), or a bad reply
        if rcode:
            return {2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(rcode, "RCODE%d" % rcode)
        return sorted(addrs)

    def close(self):
        self.sock.close()


def wait_answer(port, name, addr, limit_s, interval_s=0.001):
    """time.monotonic() of the first answer to name that is exactly [addr], or None after limit_s."""
    r = Resolver(port)
    try:
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            got = r.ask(name)
            t = time.monotonic()
            if got == [addr]:
                return t
            time.sleep(interval_s)
        return None
    finally:
        r.close()


def poll_main(args):
    """`poll`: the latency poller, a separate process so that it shares no GIL with the writer.

    stdin lines "ARM name old new limit_s"; stdout "ARMED" once name answers old, then
    "SEEN t_monotonic queries" at the first answer with new, or "TIMEOUT what"."""
    r = Resolver(args.port, timeout=0.05)
    interval = args.interval_ms / 1000.0
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "QUIT":
            break
        _, name, old, new, limit = parts
        end = time.monotonic() + float(limit)
        armed = False
        r.queries = 0
        out = "TIMEOUT old"
        while time.monotonic() < end:
            got = r.ask(name)
            t = time.monotonic()
            if not armed:
                if got == [old]:
                    armed = True
                    out = "TIMEOUT new"
                    sys.stdout.write("ARMED\n")
                    sys.stdout.flush()
            elif got == [new]:
                out = "SEEN %.9f %d" % (t, r.queries)
                break
            if interval:
                time.sleep(interval)
        sys.stdout.write(out + "\n")
        sys.stdout.flush()
    return 0


# ---------------------------------------------------------------------------------------------
# Processes: every one started here is stopped by its PID.

class Procs:
    def __init__(self):
        self.procs = []

    def start(self, name, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append((name, p))
        log("started %s, pid %d" % (name, p.pid))
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                log("pid %d still running 10 s after SIGTERM; SIGKILL" % p.pid)
                p.kill()
                p.wait(10)
        self.procs = [(n, q) for n, q in self.procs if q is not p]

    def stop_all(self):
        for _, p in reversed(list(self.procs)):
            self.stop(p)


def read_line(p, limit_s):
    """One stdout line of p within limit_s, or None."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if select.select([p.stdout], [], [], max(0.0, end - time.monotonic()))[0]:
            line = p.stdout.readline()
            return line if line else None
    return None


def proc_status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Fake:
    """fake_apiserver.py as a process, and its control port."""

    def __init__(self, procs, workdir):
        self.procs = procs
        self.certs = os.path.join(workdir, "certs")
        if not os.path.exists(os.path.join(self.certs, "server.crt")):
            subprocess.run(["/bin/sh", os.path.join(ROOT, "tests", "fake_kube", "make_certs.sh"), self.certs],
                           check=True)
        self.log = open(os.path.join(workdir, "fake.log"), "w")
        t0 = time.monotonic()
        self.proc = procs.start("fake_apiserver", [PYTHON, FAKE, "--certs-dir", self.certs, "--token", TOKEN],
                                stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = read_line(self.proc, 30)
        if not line or not line.startswith("READY"):
            raise RuntimeError("the fake API server did not start (%r); see %s" % (line, self.log.name))
        self.start_s = time.monotonic() - t0
        kv = dict(x.split("=") for x in line.split()[1:])
        self.api, self.control = int(kv["api"]), int(kv["control"])
        self.conn = None

    def ctl(self, path, body=None, timeout=120):
        """POST to the control port over one keep-alive connection."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.control, timeout=timeout)
            try:
                self.conn.request("POST", path, json.dumps(body or {}), {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = json.loads(r.read())
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if r.status != 200:
            raise RuntimeError("control %s: %d %s" % (path, r.status, data))
        return data

    def emitted_at(self, rv, limit_s=2.0):
        """The fake's time.monotonic() of writing rv to the watch stream (noted just after the write)."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            t = self.ctl("/emitted", {"rv": rv})["emitted"].get(str(rv))
            if t is not None:
                return t
            time.sleep(0.002)
        return None

    def kubeconfig(self, path):
        with open(path, "w") as f:
            f.write("""apiVersion: v1
kind: Config
current-context: bench
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: bench
  user:
    token: %s
contexts:
- name: bench
  context: {cluster: fake, user: bench}
""" % (self.api, os.path.join(self.certs, "ca.crt"), TOKEN))
        return path


def time_paginated_list(fake, expect):
    """Seconds for a bare paginated list (limit=500) over one TLS keep-alive connection: bodies read
    whole, only the continue token is looked for, nothing parsed. Also counts the items."""
    ctx = ssl.create_default_context(cafile=os.path.join(fake.certs, "ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", fake.api, context=ctx, timeout=120)
    hdr = {"Authorization": "Bearer " + TOKEN, "Accept": "application/json"}
    t0 = time.monotonic()
    cont, pages, items = "", 0, 0
    for _ in range(expect // PAGE + 10):
        c.request("GET", "%s?limit=%d%s" % (SE_PATH, PAGE, "&continue=" + cont if cont else ""), headers=hdr)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("list: HTTP %d %s" % (r.status, body[:200]))
        pages += 1
        items += body.count(b'"kind":"ServiceEntry"')
        m = re.search(rb'"continue":"([^"]+)"', body[-400:])
        if not m:
            break
        cont = m.group(1).decode()
    elapsed = time.monotonic() - t0
    c.close()
    return elapsed, pages, items


def time_curl_list(fake):
    """Seconds for one unpaginated list with curl (the whole body in one response), or None."""
    if not shutil.which("curl"):
        return None
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{http_code}", "--cacert",
                        os.path.join(fake.certs, "ca.crt"), "-H", "Authorization: Bearer " + TOKEN,
                        "https://127.0.0.1:%d%s" % (fake.api, SE_PATH)],
                       capture_output=True, text=True, timeout=300)
    try:
        t, code = r.stdout.split()
        return float(t) if code == "200" else None
    except ValueError:
        return None


def free_dns_port():
    """A loopback port free for UDP and for TCP alike, since globaldns listens on both: a port
    checked for UDP alone was at times an ephemeral port of another test's TCP connection under
    ctest -j2, and globaldns exited on the TCP bind."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no loopback port free for both UDP and TCP in 100 tries")


# ---------------------------------------------------------------------------------------------
# The measurements.

def pct(xs, q):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100.0 * len(s)) - 1))]


def measure_latency(fake, port, n, samples, limit_s, interval_ms, rng, addrs):
    poller = fake.procs.start("poller", [PYTHON, os.path.abspath(__file__), "poll", "--port", str(port),
                                         "--interval-ms", str(interval_ms)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    current = {}
    emit_ms, commit_ms, failures = [], [], []
    end = time.monotonic() + limit_s
    try:
        for k in range(samples):
            if time.monotonic() >= end:
                log("latency N=%d: time limit of %.0f s reached after %d samples" % (n, limit_s, k))
                break
            i = rng.randrange(n)
            old = current.get(i, bulk_addr(i))
            new = addrs.next()
            poller.stdin.write("ARM %s %s %s 10\n" % (host_of(i), old, new))
            poller.stdin.flush()
            line = read_line(poller, 12)
            if line is None or not line.startswith("ARMED"):
                failures.append("sample %d: %s never answered %s (%s)" % (k, host_of(i), old, (line or "").strip()))
                if line is None:
                    break
                continue
            res = fake.ctl("/apply", se_object(i, new))
            rv = res["applied"][0]["resourceVersion"]
            committed = res["monotonic"]
            current[i] = new
            line = read_line(poller, 12)
            if line is None or not line.startswith("SEEN"):
                failures.append("sample %d: %s never answered %s (%s)" % (k, host_of(i), new, (line or "").strip()))
                if line is None:
                    break
                continue
            seen = float(line.split()[1])
            written = fake.emitted_at(rv)
            if written is None:
                failures.append("sample %d: the fake noted no write of rv %s" % (k, rv))
                continue
            emit_ms.append((seen - written) * 1000.0)
            commit_ms.append((seen - committed) * 1000.0)
    finally:
        try:
            poller.stdin.write("QUIT\n")
            poller.stdin.flush()
        except OSError:
            pass
        fake.procs.stop(poller)
    return emit_ms, commit_ms, failures


class Updater(threading.Thread):
    """Changes one random entry's address every 1/rate s, until stopped, `count` updates or
    `limit_s` seconds. The changes are prepared here and handed to the fake's /churn in one
    request; the fake applies them on the fixed schedule (update k due at k/rate, one that comes
    due late goes at once, `late` counts those over a period late) in a thread of its own. A
    control request per change cost the fake and this process about a tenth of a core at 100/s,
    on the two cores dnsperf and globaldns share."""

    def __init__(self, fake, n, rate, count, limit_s, rng, addrs):
        super().__init__(daemon=True)
        self.fake, self.rate, self.limit_s = fake, rate, limit_s
        self.changes = [(rng.randrange(n), addrs.next()) for _ in range(int(count))]
        self.stop_event = threading.Event()
        self.done = 0
        self.late = 0
        self.last = None  # (i, addr) of the last update
        self.elapsed = 0.0
        self.error = None
        # its own connection: the main thread's is not shared
        self.conn = http.client.HTTPConnection("127.0.0.1", fake.control, timeout=60)

    def _ctl(self, path, body):
        self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = json.loads(r.read())
        if r.status != 200:
            raise RuntimeError("%s: HTTP %d %s" % (path, r.status, data.get("error")))
        return data

    def run(self):
        try:
            self._ctl("/churn", {"objects": [se_object(i, a) for i, a in self.changes],
                                 "rate": self.rate, "limit_s": self.limit_s})
            status = {"running": True}
            # The fake's schedule ends by itself; poll slowly so this process stays idle.
            while status["running"] and not self.stop_event.wait(0.5):
                status = self._ctl("/churn-status", {})
            if status["running"]:
                status = self._ctl("/churn-status", {"stop": True})
            if status.get("error"):
                raise RuntimeError("/churn: " + status["error"])
            self.done, self.late, self.elapsed = status["done"], status["late"], status["elapsed"]
            self.last = self.changes[self.done - 1] if self.done else None
        except Exception as e:  # reported by the caller
            self.error = repr(e)
        finally:
            self.conn.close()


def dnsperf(port, queries, seconds, outfile):
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries] + DNSPERF_FLAGS + ["-l", str(seconds)]
    with open(outfile, "w") as f:
        r = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=seconds + 30)
    text = open(outfile).read()
    m = re.search(r"Queries per second:\s+([\d.]+)", text)
    lost = re.search(r"Queries lost:\s+(\d+)", text)
    if r.returncode != 0 or not m:
        raise RuntimeError("dnsperf failed (%d): %s" % (r.returncode, text[-300:]))
    return float(m.group(1)), int(lost.group(1)) if lost else 0


def measure_throughput(fake, gdns_pid, port, n, rounds, seconds, workdir, rng, addrs, rate):
    queries = os.path.join(workdir, "queries-n%d.txt" % n)
    idx = list(range(n))
    random.Random(1).shuffle(idx)
    with open(queries, "w") as f:
        for i in idx:
            f.write("%s A\n" % host_of(i))
    rows = []
    for rnd in range(1, rounds + 1):
        order = ("idle", "updates") if rnd % 2 else ("updates", "idle")
        row = {"round": rnd, "order": order}
        for mode in order:
            out = os.path.join(workdir, "dnsperf-n%d-r%d-%s.txt" % (n, rnd, mode))
            cpu0 = cpu_seconds(gdns_pid)
            # What making the updates costs besides globaldns: the fake serving the watch and
            # this process (the updater thread; idle, only dnsperf's wait). They share the
            # two cores with dnsperf and globaldns, so their CPU is taken from the QPS measured.
            load0 = (cpu_seconds(fake.proc.pid) or 0.0) + time.process_time()
            if mode == "idle":
                qps, lost = dnsperf(port, queries, seconds, out)
                cpu1 = cpu_seconds(gdns_pid)
            else:
                up = Updater(fake, n, rate, rate * (seconds + 5), seconds + 5, rng, addrs)
                up.start()
                try:
                    qps, lost = dnsperf(port, queries, seconds, out)
                finally:
                    up.stop_event.set()
                    up.join(35)
                    cpu1 = cpu_seconds(gdns_pid)
                if up.error:
                    raise RuntimeError("updater: " + up.error)
                row["n_updates"] = up.done
                row["update_rate"] = up.done / up.elapsed if up.elapsed else 0.0
                row["late"] = up.late
                # The last change must show. A server that fell behind works off its backlog here,
                # not in the next (idle) run; one that never catches up is reported as such.
                conv = None
                if up.last:
                    t = time.monotonic()
                    seen = wait_answer(port, host_of(up.last[0]), up.last[1], CONVERGE_LIMIT_S)
                    conv = (seen - t) * 1000.0 if seen else None
                    if seen is None:
                        log("N=%d round %d: the last update was not answered within %.0f s" % (
                            n, rnd, CONVERGE_LIMIT_S))
                row["converged_ms"] = conv
            row[mode] = qps
            row[mode + "_lost"] = lost
            row[mode + "_cpu"] = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
            row[mode + "_load_cpu"] = (cpu_seconds(fake.proc.pid) or 0.0) + time.process_time() - load0
            log("throughput N=%d round %d %-7s %.0f qps, lost %d%s" % (
                n, rnd, mode, qps, lost,
                ", %d updates at %.1f/s" % (row["n_updates"], row["update_rate"]) if mode == "updates" else ""))
        row["ratio"] = row["updates"] / row["idle"] if row["idle"] else float("nan")
        rows.append(row)
        if row["converged_ms"] is None and rnd < rounds:
            # still working off the stream: further runs would measure the backlog, not idle vs updating
            log("N=%d: globaldns fell behind the update stream; skipping rounds %d-%d" % (n, rnd + 1, rounds))
            break
    return rows


def run_one_n(procs, args, n, workdir, do_throughput, rng, addrs):
    """Fake + globaldns for N entries; returns a dict of results."""
    res = {"n": n}
    fake = Fake(procs, workdir)
    try:
        t0 = time.monotonic()
        fake.ctl("/bulk", {"count": n, "namespaces": NAMESPACES})
        res["fake_start_s"] = fake.start_s
        res["bulk_s"] = time.monotonic() - t0
        res["list_s"], res["list_pages"], items = time_paginated_list(fake, n)
        if items != n:
            raise RuntimeError("the fake listed %d objects, not %d" % (items, n))
        res["curl_s"] = time_curl_list(fake) if n >= 10000 or args.self_test else None
        log("N=%d: fake started in %.2f s, /bulk %.2f s, paginated list %.2f s (%d pages), curl list %s" % (
            n, res["fake_start_s"], res["bulk_s"], res["list_s"], res["list_pages"], fmt(res["curl_s"], "%.2f s")))

        port = args.port or free_dns_port()
        kubeconfig = fake.kubeconfig(os.path.join(workdir, "kubeconfig"))
        glog = open(os.path.join(workdir, "globaldns-n%d.log" % n), "w")
        last = last_page_index(n)
        argv = [args.binary, "serve", "--listen", "127.0.0.1:%d" % port, "--kubeconfig", kubeconfig,
                "--threads", str(args.threads), "--health", "off", "--ready", "off", "--grpc", "off", "--metrics", "off", "--lameduck-ms", "0"]
        fake_cpu0 = cpu_seconds(fake.proc.pid)
        t0 = time.monotonic()
        g = procs.start("globaldns", argv, stdout=glog, stderr=subprocess.STDOUT)
        seen = None
        end = t0 + args.ready_limit
        while seen is None and time.monotonic() < end and g.poll() is None:
            seen = wait_answer(port, host_of(last), bulk_addr(last), min(1.0, end - time.monotonic()))
        if seen is None:
            raise RuntimeError("globaldns never answered %s %s (exit %s); log %s" % (
                host_of(last), bulk_addr(last), g.poll(), glog.name))
        res["ready_s"] = seen - t0
        res["rss_ready_mib"] = (proc_status_kib(g.pid, "VmHWM") or 0) / 1024.0
        res["cpu_ready_s"] = cpu_seconds(g.pid)
        fake_cpu1 = cpu_seconds(fake.proc.pid)
        res["fake_cpu_ready_s"] = (fake_cpu1 - fake_cpu0
                                   if fake_cpu0 is not None and fake_cpu1 is not None else None)
        log("N=%d: globaldns answered %s after %.2f s, VmHWM %.1f MiB" % (
            n, host_of(last), res["ready_s"], res["rss_ready_mib"]))
        # also check the first name (catches a server that serves only part of the list)
        if wait_answer(port, host_of(0), bulk_addr(0), 5) is None:
            raise RuntimeError("globaldns does not answer %s %s" % (host_of(0), bulk_addr(0)))

        emit, commit, failures = measure_latency(fake, port, n, args.samples, args.latency_limit,
                                                 args.poll_interval_ms, rng, addrs)
        res["latency_ms"], res["commit_ms"], res["latency_failures"] = emit, commit, failures
        for f in failures[:5]:
            log("latency N=%d: %s" % (n, f))
        if emit:
            log("latency N=%d: %d samples, p50 %.1f p90 %.1f p99 %.1f max %.1f ms" % (
                n, len(emit), pct(emit, 50), pct(emit, 90), pct(emit, 99), max(emit)))
        if do_throughput:
            res["throughput"] = measure_throughput(fake, g.pid, port, n, args.rounds, args.duration, workdir,
                                                   rng, addrs, args.update_rate)
        res["rss_end_mib"] = (proc_status_kib(g.pid, "VmHWM") or 0) / 1024.0
        if g.poll() is not None:
            raise RuntimeError("globaldns exited (%s) during the run; log %s" % (g.poll(), glog.name))
        procs.stop(g)
    finally:
        procs.stop(fake.proc)
    return res


# ---------------------------------------------------------------------------------------------
# The report.

def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def verdict(ok):
    return "yes" if ok else "**no**"


def report(results, args, started):
    out = []
    w = out.append
    w("# globaldns Kubernetes sync benchmark (%s)" % started)
    w("")
    w("- binary: %s (built %s)" % (args.binary, time.strftime(
        "%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(args.binary)))))
    w("- host: %d cores, load average at start %s; nothing pinned: globaldns (--threads %d), the fake "
      "API server (Python), the poller/updater and dnsperf share all cores" % (
          os.cpu_count(), args.loadavg, args.threads))
    w("- fake: tests/fake_kube/fake_apiserver.py, %d namespaces, bearer token over HTTPS; globaldns lists "
      "at limit=%d then watches" % (NAMESPACES, PAGE))
    w("- latency: %d samples max per N (limit %.0f s), fake's watch write -> first UDP answer with the new "
      "address; poll every %.1f ms (50 ms timeout per query)" % (args.samples, args.latency_limit,
                                                                  args.poll_interval_ms))
    w("")
    w("## Summary")
    w("")
    w("| metric | N | measured | target | met |")
    w("|---|---:|---:|---:|:---:|")
    for r in results:
        lat = r.get("latency_ms") or []
        if lat:
            p99 = pct(lat, 99)
            w("| propagation p99 (watch write -> answer) | %d | %.1f ms | < %.0f ms | %s |" % (
                r["n"], p99, TARGET_P99_MS, verdict(p99 < TARGET_P99_MS)))
    for r in results:
        w("| initial sync: start -> last-page name answered | %d | %.2f s | < %.0f s | %s |" % (
            r["n"], r["ready_s"], TARGET_READY_S, verdict(r["ready_s"] < TARGET_READY_S)))
        w("| peak RSS (VmHWM) at ready / at the end | %d | %.0f / %.0f MiB | < %.0f MB | %s |" % (
            r["n"], r["rss_ready_mib"], r["rss_end_mib"], TARGET_RSS_MIB,
            verdict(r["rss_end_mib"] * 1.048576 < TARGET_RSS_MIB)))
    for r in results:
        if r.get("throughput"):
            med_i = statistics.median(x["idle"] for x in r["throughput"])
            med_u = statistics.median(x["updates"] for x in r["throughput"])
            ratio = statistics.median(x["ratio"] for x in r["throughput"])
            rate = statistics.median(x["update_rate"] for x in r["throughput"])
            behind = sum(1 for x in r["throughput"] if x["converged_ms"] is None)
            w("| QPS under %d updates/s ÷ idle (median of rounds) | %d | %.3f (%.0f / %.0f) | ≥ %.2f | %s |" % (
                args.update_rate, r["n"], ratio, med_u, med_i, 1 - TARGET_QPS_DROP,
                verdict(ratio >= 1 - TARGET_QPS_DROP)))
            w("| updates applied per s (median; target rate %d) | %d | %.1f | ≥ %.0f | %s |" % (
                args.update_rate, r["n"], rate, 0.9 * args.update_rate, verdict(rate >= 0.9 * args.update_rate)))
            w("| rounds whose last update was answered within %.0f s | %d | %d of %d | all | %s |" % (
                CONVERGE_LIMIT_S, r["n"], len(r["throughput"]) - behind, len(r["throughput"]), verdict(not behind)))
    w("")
    w("## Propagation latency (ms)")
    w("")
    w("| N | samples | p50 | p90 | p99 | max | apply-commit -> answer p50 / p99 | failures |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        lat, com = r.get("latency_ms") or [], r.get("commit_ms") or []
        if lat:
            w("| %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f / %.1f | %d |" % (
                r["n"], len(lat), pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat), pct(com, 50),
                pct(com, 99), len(r["latency_failures"])))
        else:
            w("| %d | 0 | - | - | - | - | - | %d |" % (r["n"], len(r["latency_failures"])))
    w("")
    w("## Initial sync")
    w("")
    w("| N | fake start | fake /bulk | bare paginated list (pages) | one unpaginated list (curl) "
      "| globaldns ready | globaldns CPU to ready | fake CPU meanwhile | VmHWM at ready | VmHWM at end |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        w("| %d | %.2f s | %.2f s | %.2f s (%d) | %s | %.2f s | %s | %s | %.1f MiB | %.1f MiB |" % (
            r["n"], r["fake_start_s"], r["bulk_s"], r["list_s"], r["list_pages"],
            fmt(r.get("curl_s"), "%.2f s"), r["ready_s"], fmt(r.get("cpu_ready_s"), "%.2f s"),
            fmt(r.get("fake_cpu_ready_s"), "%.2f s"), r["rss_ready_mib"], r["rss_end_mib"]))
    w("")
    w("The bare list is this script's own client reading every page at limit=%d with no JSON parsing, "
      "which also fills the fake's caches of encoded objects and of the list (tests/fake_kube/README.md), "
      "so globaldns's list is served from them; its time is now mostly this Python client's own. "
      "The fake's share of `globaldns ready` is its CPU meanwhile." % PAGE)
    for r in results:
        if not r.get("throughput"):
            continue
        w("")
        w("## Query throughput, N=%d (dnsperf %s -l %d; updater %d/s)" % (
            r["n"], " ".join(DNSPERF_FLAGS), args.duration, args.update_rate))
        w("")
        w("| round | order | QPS idle | QPS under updates | ratio | updates (rate/s) | late ticks "
          "| last update answered after | lost idle / updates | globaldns CPU s in idle / updating run "
          "| fake + updater CPU s in idle / updating run |")
        w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for x in r["throughput"]:
            w("| %d | %s | %.0f | %.0f | %.3f | %d (%.1f) | %d | %s | %d / %d | %s / %s | %s / %s |" % (
                x["round"], " then ".join(x["order"]), x["idle"], x["updates"], x["ratio"], x["n_updates"],
                x["update_rate"],
                x["late"], fmt(x["converged_ms"], "%.0f ms") if x["converged_ms"] is not None
                else "not within %.0f s" % CONVERGE_LIMIT_S, x["idle_lost"], x["updates_lost"],
                fmt(x["idle_cpu"], "%.1f"), fmt(x["updates_cpu"], "%.1f"),
                fmt(x.get("idle_load_cpu"), "%.1f"), fmt(x.get("updates_load_cpu"), "%.1f")))
        t = r["throughput"]
        if len(t) < args.rounds:
            w("| (rounds %d-%d skipped: globaldns had not answered the last update within %.0f s, so "
              "they would have measured its backlog) | | | | | | | | | | |" % (len(t) + 1, args.rounds, CONVERGE_LIMIT_S))
        w("| median | | %.0f | %.0f | %.3f | | | | | | |" % (
            statistics.median(x["idle"] for x in t), statistics.median(x["updates"] for x in t),
            statistics.median(x["ratio"] for x in t)))
    return "\n".join(out) + "\n"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "self-test"):
        p = sub.add_parser(name)
        p.add_argument("--binary", required=True, help="the globaldns executable")
        p.add_argument("-n", default="1000,100000", help="entry counts, comma- or space-separated")
        p.add_argument("-r", "--rounds", type=int, default=3, help="throughput rounds (idle + updates each)")
        p.add_argument("-d", "--duration", type=int, default=10, help="seconds of one dnsperf run")
        p.add_argument("--samples", type=int, default=300, help="latency samples per N")
        p.add_argument("--latency-limit", type=float, default=120.0, help="seconds for the samples of one N")
        p.add_argument("--poll-interval-ms", type=float, default=0.2, help="pause between poller queries")
        p.add_argument("--update-rate", type=int, default=100, help="updates/s during throughput runs")
        p.add_argument("--threads", type=int, default=2, help="globaldns --threads")
        p.add_argument("--ready-limit", type=float, default=120.0, help="seconds to wait for the first answer")
        p.add_argument("--port", type=int, default=0, help="UDP/TCP port for globaldns (default: a free one)")
        p.add_argument("--quick", action="store_true", help="N=1000, 30 samples, 1 round of 3 s")
        p.add_argument("--no-dnsperf", action="store_true", help="skip the throughput part")
        p.add_argument("--out", default="/tmp/globaldns-bench", help="folder for kube.md and the logs")
    p = sub.add_parser("poll", help="internal: the latency poller")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--interval-ms", type=float, default=0.2)
    a = ap.parse_args(argv)
    if a.cmd == "poll":
        return a
    a.self_test = a.cmd == "self-test"
    if a.quick:
        a.n, a.samples, a.rounds, a.duration = "1000", 30, 1, 3
    if a.self_test:
        a.n, a.samples, a.rounds, a.duration, a.no_dnsperf = "60", 5, 1, 2, True
        a.latency_limit, a.ready_limit = 15.0, 15.0
    a.ns = sorted({int(x) for x in re.split(r"[,\s]+", a.n.strip()) if x})
    if not a.ns or min(a.ns) < 1:
        ap.error("-n takes positive entry counts")
    if min(a.rounds, a.duration, a.samples, a.update_rate) < 1:
        ap.error("-r, -d, --samples and --update-rate take positive integers")
    a.binary = os.path.abspath(a.binary)
    if not os.access(a.binary, os.X_OK):
        ap.error("no executable globaldns at %s" % a.binary)
    return a


def self_test_checks(results, args, fake_procs, workdir):
    """What the ctest asserts beyond 'it ran': the numbers exist and are sane, and the updater's
    changes reach globaldns (a short paced run without dnsperf)."""
    problems = []
    r = results[0]
    if len(r.get("latency_ms") or []) != args.samples or r["latency_failures"]:
        problems.append("latency: %d of %d samples, failures %s" % (
            len(r.get("latency_ms") or []), args.samples, r["latency_failures"]))
    if any(x < 0 or x > 10000 for x in r.get("latency_ms") or []):
        problems.append("latency out of range: %s" % r["latency_ms"])
    if any(c < e for c, e in zip(r["commit_ms"], r["latency_ms"])):
        problems.append("an event was written before its apply was committed")
    if not 0 < r["ready_s"] < args.ready_limit or r["rss_ready_mib"] <= 0:
        problems.append("ready %.2f s, VmHWM %.1f MiB" % (r["ready_s"], r["rss_ready_mib"]))
    return problems


def updater_self_test(procs, workdir, args, rng, addrs):
    """A paced updater against a fresh fake + globaldns: 20/s for 1 s, then the last change answers."""
    n = 60
    fake = Fake(procs, workdir)
    try:
        fake.ctl("/bulk", {"count": n, "namespaces": NAMESPACES})
        port = free_dns_port()
        g = procs.start("globaldns", [args.binary, "serve", "--listen", "127.0.0.1:%d" % port, "--kubeconfig",
                                      fake.kubeconfig(os.path.join(workdir, "kubeconfig")), "--threads", "1",
                                      "--health", "off", "--ready", "off", "--grpc", "off", "--metrics", "off", "--lameduck-ms", "0"],
                        stdout=open(os.path.join(workdir, "globaldns-updater.log"), "w"), stderr=subprocess.STDOUT)
        if wait_answer(port, host_of(0), bulk_addr(0), 15) is None:
            return ["updater test: globaldns never answered"]
        up = Updater(fake, n, 20, 20, 3, rng, addrs)
        up.start()
        up.join(10)
        if up.error or up.done != 20 or not 0.8 < up.elapsed < 3:
            return ["updater: %d updates in %.2f s, error %s" % (up.done, up.elapsed, up.error)]
        if wait_answer(port, host_of(up.last[0]), up.last[1], 10) is None:
            return ["updater: the last change never reached globaldns"]
        procs.stop(g)
    finally:
        procs.stop(fake.proc)
    return []


def main(argv):
    args = parse_args(argv)
    if args.cmd == "poll":
        return poll_main(args)
    procs = Procs()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    args.loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="kube-sync-", dir=args.out)
    rng = random.Random(20261126)
    addrs = AddressSource()
    results = []
    try:
        if not args.no_dnsperf and not shutil.which("dnsperf"):
            raise RuntimeError("dnsperf not found (scripts/install-deps.sh bench), or pass --no-dnsperf")
        for n in args.ns:
            results.append(run_one_n(procs, args, n, workdir, not args.no_dnsperf and n == max(args.ns),
                                     rng, addrs))
        text = report(results, args, started)
        if args.self_test:
            problems = self_test_checks(results, args, procs, workdir)
            problems += updater_self_test(procs, workdir, args, rng, addrs)
            if problems:
                for p in problems:
                    log("SELF-TEST FAILED: " + p)
                return 1
            print(text)
            log("self-test passed")
            shutil.rmtree(workdir, ignore_errors=True)
            return 0
        with open(os.path.join(args.out, "kube.md"), "w") as f:
            f.write(text)
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        print(text)
        log("report: %s; logs and raw results: %s" % (os.path.join(args.out, "kube.md"), workdir))
        return 0
    except RuntimeError as e:
        log("error: %s" % e)
        return 1
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
