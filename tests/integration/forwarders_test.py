#!/usr/bin/python3
"""globaldns behind the resolvers that stand in for kube-dns, and CoreDNS's own probes.

CoreDNS is not packaged in Debian 12, so the forwarding path (kube-dns or CoreDNS forwarding the
`global` zone to us) is tested with the resolvers that are: unbound (forward-zone, with
harden-below-nxdomain), dnsmasq (server=/global/...), BIND 9 (zone type forward) and Knot Resolver
(policy.STUB). Each case starts globaldns on test ServiceEntries, then the resolver on its own
loopback port, config and working directory (never a system service, never port 53), queries
through it, and stops both by PID.

Usage: forwarders_test.py BINARY SERVICEENTRIES_YAML CASE
  CASE: unbound | dnsmasq | bind | kresd | coredns_probes
Exit status: 0 pass, 1 fail, 77 skipped (the resolver is not installed; ctest reports "Skipped").
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from loopback import free_port

SKIP = 77
START_TIMEOUT_S = 15  # kresd and named take a second or two on a loaded 2-core machine
QUERY_TIMEOUT_S = 2  # a forwarder that took longer would be as good as down

# The names of tests/data/forwarders/serviceentries.yaml.
V4_ONLY = "web.shop.global."
DUAL = "dual.shop.global."
ENT_CHILD = "svc.deep.ent.global."
ENT_PARENTS = ["ent.global.", "deep.ent.global."]  # empty non-terminals, asked outermost first
WILDCARD_MATCH = "anything.wild.global."
UNKNOWN = "nothere.shop.global."


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"({e})"


class Process:
    """A child process whose stdout and stderr go to a file, stopped by its PID."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def exited(self):
        return self.proc.poll() is not None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def describe(self):
        status = f"exited {self.proc.returncode}" if self.exited() else "running"
        return f"{self.name} ({status}); last lines of {self.log_path}:\n{tail(self.log_path)}"


def query(port, name, rdtype, transport="udp", timeout=QUERY_TIMEOUT_S, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    send = dns.query.udp if transport == "udp" else dns.query.tcp
    return q, send(q, "127.0.0.1", port=port, timeout=timeout)


def wait_until_answers(process, port, name):
    """Polls with `name A` until an answer comes back; bounded by START_TIMEOUT_S."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no reply"
    while time.monotonic() < deadline:
        if process.exited():
            break
        try:
            _, r = query(port, name, "A", timeout=0.5)
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                return
            last = f"rcode {dns.rcode.to_text(r.rcode())}, {len(r.answer)} answer RRsets"
        except Exception as e:  # not listening yet, or timed out
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer {name} A within {START_TIMEOUT_S} s "
                       f"(last: {last}); {process.describe()}")


def start_globaldns(binary, entries, workdir):
    files = os.path.join(workdir, "entries")
    os.mkdir(files)
    shutil.copy(entries, os.path.join(files, "serviceentries.yaml"))
    port = free_port()
    process = Process("globaldns", [
        binary, "serve", "--listen", f"127.0.0.1:{port}", "--files", files, "--threads", "2",
        "--health", "127.0.0.1:0", "--ready", "127.0.0.1:0", "--lameduck-ms", "0",
        "--metrics", "off", "--grpc", "off",
        "--allow-cidr", "240.0.0.0/8", "--allow-cidr", "fd00::/8"], os.path.join(workdir, "globaldns.log"))
    try:
        wait_until_answers(process, port, V4_ONLY)
    except Exception:
        process.stop()
        raise
    return process, port


# --- the resolvers, each configured to forward `global` to 127.0.0.1:<upstream> ---

def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def unbound_argv(workdir, port, upstream):
    # module-config "iterator": no validator, as `global` is an unsigned fake TLD (domain-insecure
    # says the same should someone add the validator back). harden-below-nxdomain is what kube
    # clusters running unbound have on (its default): it prunes everything below a cached
    # NXDOMAIN, which is why an empty non-terminal must be NODATA.
    conf = write(os.path.join(workdir, "unbound.conf"), f"""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    interface-automatic: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    harden-below-nxdomain: yes
    qname-minimisation: yes
    module-config: "iterator"
    domain-insecure: "global"
    username: ""
    chroot: ""
    directory: "{workdir}"
    pidfile: "{workdir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    so-reuseport: no
remote-control:
    control-enable: no
forward-zone:
    name: "global"
    forward-addr: 127.0.0.1@{upstream}
""")
    checker = shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"
    if os.path.exists(checker):
        subprocess.run([checker, conf], check=True, capture_output=True, timeout=10)
    return ["/usr/sbin/unbound", "-d", "-c", conf]


def dnsmasq_argv(workdir, port, upstream):
    # The way kube-dns runs it (dnsmasq-nanny: --server=/<stub domain>/<ip>#<port>), minus the
    # cluster parts. -C /dev/null: no system config file is read.
    return ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1",
            f"--port={port}", f"--server=/global/127.0.0.1#{upstream}", "--user=root",
            "--group=root", f"--pid-file={workdir}/dnsmasq.pid", "--log-facility=-",
            "--log-queries"]


def bind_argv(workdir, port, upstream):
    # `controls { };` keeps named off the rndc port 953; every file it writes is in workdir.
    conf = write(os.path.join(workdir, "named.conf"), f"""options {{
    directory "{workdir}";
    pid-file "{workdir}/named.pid";
    session-keyfile "{workdir}/session.key";
    managed-keys-directory "{workdir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    allow-query {{ 127.0.0.1; }};
    allow-recursion {{ 127.0.0.1; }};
    dnssec-validation no;
}};
controls {{ }};
logging {{
    channel out {{ stderr; severity info; print-time yes; }};
    category default {{ out; }};
    category queries {{ out; }};
}};
zone "global" {{
    type forward;
    forward only;
    forwarders {{ 127.0.0.1 port {upstream}; }};
}};
""")
    checker = shutil.which("named-checkconf") or "/usr/bin/named-checkconf"
    if os.path.exists(checker):
        subprocess.run([checker, conf], check=True, capture_output=True, timeout=10)
    return ["/usr/sbin/named", "-g", "-n", "1", "-c", conf]


def kresd_argv(workdir, port, upstream):
    # STUB sends the client's question as is, with no validation; removing the root trust
    # anchor keeps kresd from fetching DNSKEYs from the Internet, and set_insecure says `global`
    # is unsigned should one be configured. priming and detect_time_skew would ask the root
    # servers at start-up: unloaded, so the test touches nothing beyond loopback. The cache
    # lives in workdir.
    conf = write(os.path.join(workdir, "kresd.conf"), f"""
net.listen('127.0.0.1', {port}, {{ kind = 'dns' }})
modules.unload('priming')
modules.unload('detect_time_skew')
trust_anchors.remove('.')
trust_anchors.set_insecure({{ 'global' }})
cache.open(10 * MB, 'lmdb://{workdir}/cache')
policy.add(policy.suffix(policy.STUB({{ '127.0.0.1@{upstream}' }}), {{ todname('global.') }}))
""")
    return ["/usr/sbin/kresd", "-n", "-c", conf, workdir]


RESOLVERS = {
    "unbound": ("/usr/sbin/unbound", "unbound", unbound_argv),
    "dnsmasq": ("/usr/sbin/dnsmasq", "dnsmasq-base", dnsmasq_argv),
    "bind": ("/usr/sbin/named", "bind9", bind_argv),
    "kresd": ("/usr/sbin/kresd", "knot-resolver", kresd_argv),
}


# --- checks ---

class Checks:
    """Runs checks in order (the order matters: an ENT is asked before its child) and keeps going
    after a failure, so one run shows every problem."""

    def __init__(self, label):
        self.label = label
        self.failures = []

    def run(self, name, fn):
        try:
            fn()
            print(f"ok    {self.label}: {name}")
        except AssertionError as e:
            self.failures.append(name)
            print(f"FAIL  {self.label}: {name}: {e}")
        except Exception as e:  # timeouts and parse errors are failures of the check too
            self.failures.append(name)
            print(f"FAIL  {self.label}: {name}: {e!r}")


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def describe(r):
    return (f"rcode {dns.rcode.to_text(r.rcode())}, flags {dns.flags.to_text(r.flags)}, "
            f"answer {[str(rr) for rr in r.answer]}, authority {[str(rr) for rr in r.authority]}")


def addresses(r, rdtype):
    return sorted(rd.address for rrset in r.answer if rrset.rdtype == rdtype for rd in rrset)


def expect_addresses(port, name, rdtype, want, transport="udp"):
    _, r = query(port, name, rdtype, transport)
    expect(r.rcode() == dns.rcode.NOERROR, f"{name} {rdtype}: want NOERROR; got {describe(r)}")
    got = addresses(r, dns.rdatatype.from_text(rdtype))
    expect(got == want, f"{name} {rdtype}: want {want}; got {describe(r)}")


def expect_nodata(port, name, rdtype):
    _, r = query(port, name, rdtype)
    expect(r.rcode() == dns.rcode.NOERROR and not r.answer,
           f"{name} {rdtype}: want NOERROR with no answer (NODATA); got {describe(r)}")


def expect_nxdomain(port, name, rdtype):
    _, r = query(port, name, rdtype)
    expect(r.rcode() == dns.rcode.NXDOMAIN, f"{name} {rdtype}: want NXDOMAIN; got {describe(r)}")


def check_through_resolver(checks, port):
    checks.run("A of a v4-only name is our address",
               lambda: expect_addresses(port, V4_ONLY, "A", ["240.0.0.20"]))
    checks.run("AAAA of a v4-only name is NODATA", lambda: expect_nodata(port, V4_ONLY, "AAAA"))
    checks.run("A of a dual-stack name",
               lambda: expect_addresses(port, DUAL, "A", ["240.0.0.21"]))
    checks.run("AAAA of a dual-stack name",
               lambda: expect_addresses(port, DUAL, "AAAA", ["fd00::21"]))
    checks.run("unknown name is NXDOMAIN", lambda: expect_nxdomain(port, UNKNOWN, "A"))
    checks.run("unknown name stays NXDOMAIN for AAAA", lambda: expect_nxdomain(port, UNKNOWN, "AAAA"))
    for parent in ENT_PARENTS:
        checks.run(f"empty non-terminal {parent} is NODATA, not NXDOMAIN",
                   lambda parent=parent: expect_nodata(port, parent, "A"))
    checks.run("the child of an empty non-terminal still resolves after its parent was asked",
               lambda: expect_addresses(port, ENT_CHILD, "A", ["240.0.0.22"]))
    checks.run("a wildcard match resolves",
               lambda: expect_addresses(port, WILDCARD_MATCH, "A", ["240.0.0.23"]))
    checks.run("A over TCP to the resolver",
               lambda: expect_addresses(port, V4_ONLY, "A", ["240.0.0.20"], transport="tcp"))


def mirrors_question(q, r):
    """What CoreDNS's forward and grpc plugins demand of a reply (request.Match): one question,
    QR set, same name (case-insensitively), type and class; plus the query's ID."""
    expect(r.id == q.id, f"reply id {r.id} != query id {q.id}")
    expect(r.flags & dns.flags.QR, "QR not set")
    expect(len(r.question) == 1, f"{len(r.question)} questions in the reply")
    rq, qq = r.question[0], q.question[0]
    expect(rq.name == qq.name and rq.rdtype == qq.rdtype and rq.rdclass == qq.rdclass,
           f"question {rq} does not mirror {qq}")


def health_probe(port, transport):
    # plugin/pkg/proxy/health.go: SetQuestion(".", NS) with RD; any reply at all is healthy.
    # The 1 s timeout is forward's own read timeout for health checks.
    q, r = query(port, ".", "NS", transport, timeout=1)
    mirrors_question(q, r)
    expect(q.flags & dns.flags.RD, "the probe should carry RD")
    expect(r.rcode() == dns.rcode.REFUSED, f"want REFUSED for the root (not our zone); got {describe(r)}")


def loop_probe(port, transport):
    # plugin/loop/setup.go: qname = <rand.Int()>.<rand.Int()>.<zone>, type HINFO.
    name = f"{random.getrandbits(63)}.{random.getrandbits(63)}.global."
    q, r = query(port, name, "HINFO", transport, timeout=1)
    mirrors_question(q, r)
    expect(r.rcode() == dns.rcode.NXDOMAIN, f"{name} HINFO: want NXDOMAIN; got {describe(r)}")
    expect(r.flags & dns.flags.AA, "want AA on our own NXDOMAIN")
    expect(any(rr.rdtype == dns.rdatatype.SOA and str(rr.name) == "global." for rr in r.authority),
           f"want the global. SOA in authority; got {describe(r)}")


def check_coredns_probes(checks, port):
    for transport in ("udp", "tcp"):
        checks.run(f"CoreDNS forward health probe '. IN NS' over {transport}",
                   lambda t=transport: health_probe(port, t))
        checks.run(f"CoreDNS loop probe '<random>.<random>.global. HINFO' over {transport}",
                   lambda t=transport: loop_probe(port, t))


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    binary, entries, case = sys.argv[1:]
    if case != "coredns_probes" and case not in RESOLVERS:
        print(f"unknown case {case!r}")
        return 2
    if case in RESOLVERS:
        path, package, _ = RESOLVERS[case]
        if not os.access(path, os.X_OK):
            print(f"SKIP: {path} is not installed (Debian package {package}; "
                  f"scripts/install-deps.sh test installs it)")
            return SKIP

    workdir = tempfile.mkdtemp(prefix=f"globaldns-fwd-{case}-")
    processes = []
    checks = Checks(case)
    try:
        server, server_port = start_globaldns(binary, entries, workdir)
        processes.append(server)
        if case == "coredns_probes":
            check_coredns_probes(checks, server_port)
        else:
            _, _, make_argv = RESOLVERS[case]
            resolver_dir = os.path.join(workdir, case)
            os.mkdir(resolver_dir)
            port = free_port()
            resolver = Process(case, make_argv(resolver_dir, port, server_port),
                               os.path.join(workdir, f"{case}.log"))
            processes.append(resolver)
            # Warm up with the hit only, so the empty non-terminals are first asked by the checks.
            wait_until_answers(resolver, port, V4_ONLY)
            check_through_resolver(checks, port)
        if checks.failures:
            for p in processes:
                print(p.describe())
    finally:
        for p in reversed(processes):
            p.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if checks.failures:
        print(f"{len(checks.failures)} check(s) failed: {', '.join(checks.failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
