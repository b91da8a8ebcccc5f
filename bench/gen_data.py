#!/usr/bin/env python3
"""gen_data.py: one synthetic data set for bench/compare.sh, in each server's own format.

    bench/gen_data.py -n 10000 -o /tmp/globaldns-bench/data-n10000

Names are svc<i>.ns<j>.global, --per-ns services per namespace (default 100), the k-th name
(k = 0..n-1) having the single address 240.0.0.0 + k + 1. Writes into --out:

  serviceentries/      one networking.istio.io/v1beta1 ServiceEntry per name (for globaldns), in
                       files of FILE_ENTRIES each (part-0000.yaml, ...): globaldns refuses a file
                       over 16 MiB (sync/yaml_decoder.hpp DecodeLimits), about 43,000 of these
  global.zone          the same names as an RFC 1035 master file, with the SOA and NS that
                       globaldns serves by default (for NSD and Knot)
  queries.txt          dnsperf input, shuffled with a fixed seed: 80% A for existing names,
                       10% AAAA for existing (A-only) names -> NODATA, 10% A for names that do
                       not exist -> NXDOMAIN; a quarter of all lines in mixed case
  expect.txt           "qname qtype rcode address-or-dash" lines for compare.sh's dig checks

Python standard library only; the output depends only on the arguments.
"""
import argparse
import os
import random
import sys

TTL = 30  # globaldns's default answer TTL
# globaldns's default SOA (resolver/zone_data.hpp SoaParams); the NS target is out of zone.
SOA_MNAME = "globaldns.istio-system.svc.cluster.local."
SOA_RNAME = "hostmaster.globaldns.istio-system.svc.cluster.local."
SOA_TIMERS = "60 30 86400 30"  # refresh retry expire minimum
CREATED = "2024-01-01T00:00:00Z"
GATEWAY = "192.0.2.10"  # RFC 5737 documentation address standing for a remote ingress gateway
FILE_ENTRIES = 10000  # ServiceEntries per YAML file: about 3.8 MB, well under globaldns's limit


def address(k):
    """Address of the k-th name: 240.0.0.1, 240.0.0.2, ... inside 240.0.0.0/8."""
    v = k + 1
    if v >= 1 << 24:
        raise SystemExit("gen_data: at most %d names fit in 240.0.0.0/8" % ((1 << 24) - 1))
    return "240.%d.%d.%d" % (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


def service(k, per_ns):
    """(service, namespace) of the k-th name."""
    return "svc%d" % (k % per_ns), "ns%d" % (k // per_ns)


def hostname(k, per_ns):
    svc, ns = service(k, per_ns)
    return "%s.%s.global" % (svc, ns)


def mixed_case(name, rnd):
    """Upper-case about half the letters; retried so the result differs from the input."""
    for _ in range(8):
        out = "".join(c.upper() if c.isalpha() and rnd.random() < 0.5 else c for c in name)
        if out != name:
            return out
    return name.upper()


def write_lines(path, lines):
    with open(path, "w", encoding="ascii") as f:
        f.writelines(lines)


def service_entries(first, end, per_ns):
    for k in range(first, end):
        svc, ns = service(k, per_ns)
        yield (
            "---\n"
            "apiVersion: networking.istio.io/v1beta1\n"
            "kind: ServiceEntry\n"
            "metadata:\n"
            "  name: %s\n"
            "  namespace: %s\n"
            "  creationTimestamp: \"%s\"\n"
            "spec:\n"
            "  hosts:\n"
            "  - %s.%s.global\n"
            "  location: MESH_INTERNAL\n"
            "  ports:\n"
            "  - name: http\n"
            "    number: 80\n"
            "    protocol: HTTP\n"
            "  resolution: DNS\n"
            "  addresses:\n"
            "  - %s\n"
            "  endpoints:\n"
            "  - address: %s\n"
            "    ports:\n"
            "      http: 15443\n" % (svc, ns, CREATED, svc, ns, address(k), GATEWAY)
        )


def zone_file(n, per_ns):
    yield "; synthetic zone for globaldns bench/compare.sh: %d names\n" % n
    yield "$ORIGIN global.\n$TTL %d\n" % TTL
    yield "@ IN SOA %s %s 1 %s\n" % (SOA_MNAME, SOA_RNAME, SOA_TIMERS)
    yield "@ IN NS %s\n" % SOA_MNAME
    for k in range(n):
        yield "%s. IN A %s\n" % (hostname(k, per_ns), address(k))


def queries(n, per_ns, count, rnd):
    """(lines, counts) of the dnsperf query file."""
    namespaces = (n + per_ns - 1) // per_ns
    hits, nodata = count * 8 // 10, count // 10
    missing = count - hits - nodata
    lines = []
    lines += [(hostname(rnd.randrange(n), per_ns), "A") for _ in range(hits)]
    lines += [(hostname(rnd.randrange(n), per_ns), "AAAA") for _ in range(nodata)]
    for i in range(missing):
        if i % 2:  # an unknown service in an existing namespace
            name = "absent%d.ns%d.global" % (rnd.randrange(1 << 20), rnd.randrange(namespaces))
        else:  # a known service name in a namespace that does not exist
            name = "svc%d.gone%d.global" % (rnd.randrange(per_ns), rnd.randrange(1 << 20))
        lines.append((name, "A"))
    rnd.shuffle(lines)
    mixed = len(lines) // 4
    for i in range(mixed):  # after the shuffle, the first quarter is a random quarter
        lines[i] = (mixed_case(lines[i][0], rnd), lines[i][1])
    rnd.shuffle(lines)
    counts = {"A": hits, "AAAA": nodata, "NXDOMAIN": missing, "mixed case": mixed}
    return ["%s %s\n" % q for q in lines], counts


def expectations(n, per_ns):
    last = n - 1
    rnd = random.Random(0)
    return [
        "svc0.ns0.global A NOERROR %s\n" % address(0),
        "%s A NOERROR %s\n" % (hostname(n // 2, per_ns), address(n // 2)),
        # the last name, in mixed case: proves the whole data set is loaded and case folding
        "%s A NOERROR %s\n" % (mixed_case(hostname(last, per_ns), rnd), address(last)),
        "svc0.ns0.global AAAA NOERROR -\n",
        "absent1.ns0.global A NXDOMAIN -\n",
        "svc0.gone1.global A NXDOMAIN -\n",
    ]


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--names", type=int, default=10000, help="names (default 10000)")
    ap.add_argument("--per-ns", type=int, default=100, help="services per namespace (default 100)")
    ap.add_argument("-q", "--queries", type=int, default=0,
                    help="query lines (default: max(100000, 2 x names))")
    ap.add_argument("--seed", type=int, default=20240301, help="random seed")
    ap.add_argument("-o", "--out", required=True, help="output directory")
    a = ap.parse_args()
    if a.names < 1 or a.per_ns < 1:
        ap.error("--names and --per-ns must be positive")
    count = a.queries or max(100000, 2 * a.names)

    os.makedirs(a.out, exist_ok=True)
    path = lambda f: os.path.join(a.out, f)
    entries_dir = path("serviceentries")
    os.makedirs(entries_dir, exist_ok=True)
    for old in os.listdir(entries_dir):  # a larger earlier set must not leave files behind
        os.unlink(os.path.join(entries_dir, old))
    for part, first in enumerate(range(0, a.names, FILE_ENTRIES)):
        write_lines(os.path.join(entries_dir, "part-%04d.yaml" % part),
                    service_entries(first, min(a.names, first + FILE_ENTRIES), a.per_ns))
    write_lines(path("global.zone"), zone_file(a.names, a.per_ns))
    lines, counts = queries(a.names, a.per_ns, count, random.Random(a.seed))
    write_lines(path("queries.txt"), lines)
    write_lines(path("expect.txt"), expectations(a.names, a.per_ns))
    sys.stderr.write("gen_data: %d names in %d namespaces, %d queries (%s) -> %s\n" % (
        a.names, (a.names + a.per_ns - 1) // a.per_ns, count,
        ", ".join("%s %d" % kv for kv in counts.items()), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
