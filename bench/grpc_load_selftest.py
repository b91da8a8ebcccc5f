#!/usr/bin/python3
"""Self-test of bench/grpc_load (run by ctest): a short, bounded load against a globaldns this
test starts on loopback, so the gRPC benchmark client cannot rot unnoticed.

    grpc_load_selftest.py GLOBALDNS GRPC_LOAD GEN_DATA WORKDIR

Checks that every query of a fixed count is answered, that the rcodes match the query file
(NXDOMAIN for exactly the names gen_data.py made up), that the summary has its percentiles, and
that bad input gets a clear error and exit status 2.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

QUERIES = 2000


def main():
    globaldns, grpc_load, gen_data, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)  # never a data set of an older gen_data.py
    subprocess.run([sys.executable, gen_data, "-n", "200", "-o", data], check=True,
                   stdout=subprocess.DEVNULL, timeout=60)
    queries = os.path.join(data, "queries.txt")
    with open(queries) as f:
        lines = f.read().splitlines()
    missing = (".gone", "absent")  # gen_data.py's two kinds of made-up name
    want_nx = sum(1 for i in range(QUERIES)
                  if any(m in lines[i % len(lines)].lower() for m in missing))

    log_path = os.path.join(work, "globaldns.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [globaldns, "serve", "--listen", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
             "--files", os.path.join(data, "serviceentries"), "--threads", "1",
             "--health", "off", "--ready", "off", "--metrics", "off", "--lameduck-ms", "0"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and server.poll() is None:
            text = open(log_path).read()
            m = re.search(r"serving gRPC on 127\.0\.0\.1:(\d+) ", text)
            if m and "files: loaded" in text:
                port = m.group(1)
                break
            time.sleep(0.05)
        if port is None:
            sys.exit("globaldns did not start serving gRPC:\n" + open(log_path).read())

        run = subprocess.run(
            [grpc_load, "-s", "127.0.0.1:" + port, "-d", queries, "-c", "2", "-q", "8",
             "-n", str(QUERIES), "-l", "20"],
            capture_output=True, text=True, timeout=60)
        out = run.stdout
        print(out, run.stderr)
        assert run.returncode == 0, "grpc_load failed with status %d" % run.returncode
        field = lambda key: re.search(r"%s:\s+(\S+)" % re.escape(key), out).group(1)
        assert int(field("Queries completed")) == QUERIES, out
        assert int(field("Queries lost")) == 0, out
        line = re.search(r"Response codes:\s+(.*)", out).group(1)
        codes = {k: int(v) for k, v in re.findall(r"([A-Z0-9]+) (\d+)", line)}
        assert codes == {"NOERROR": QUERIES - want_nx, "NXDOMAIN": want_nx}, (codes, want_nx)
        assert float(field("Queries per second")) > 0, out
        p50, p99 = float(field("Latency p50 (ms)")), float(field("Latency p99 (ms)"))
        assert 0 <= p50 <= p99, (p50, p99)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    # Bad input: a clear message and status 2, no crash.
    bad = os.path.join(work, "bad.txt")
    with open(bad, "w") as f:
        f.write("svc1.ns0.global A\nsvc1..global A\n")
    run = subprocess.run([grpc_load, "-s", "127.0.0.1:1", "-d", bad, "-l", "1"],
                         capture_output=True, text=True, timeout=20)
    assert run.returncode == 2 and "bad.txt:2: not a query line" in run.stderr, run.stderr
    run = subprocess.run([grpc_load, "-d", queries, "-q", "0"], capture_output=True, text=True,
                         timeout=20)
    assert run.returncode == 2 and "-q takes a whole number" in run.stderr, run.stderr
    print("grpc_load self-test: ok")


if __name__ == "__main__":
    main()
