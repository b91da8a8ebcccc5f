#!/usr/bin/env python3
"""reflector_selftest.py: bench/reflector answers a DNS query on loopback with its own bytes and
QR set, from both of its SO_REUSEPORT sockets' shared port, and stops on SIGTERM.

    reflector_selftest.py PATH-TO-REFLECTOR

Run by ctest (bench_reflector_selftest); bounded: a 2 s timeout per query, 10 s overall.
"""
import socket
import subprocess
import sys

import dns.flags
import dns.message
import dns.query


def main():
    proc = subprocess.Popen([sys.argv[1], "127.0.0.1", "0", "2"], stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()  # "reflector: 127.0.0.1:PORT, 2 thread(s)"
        port = int(line.split(":")[2].split(",")[0])
        for i in range(8):  # several source ports, so both sockets are likely to be hit
            query = dns.message.make_query("svc%d.ns0.global" % i, "A")
            reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
            assert reply.id == query.id, (reply.id, query.id)
            assert reply.flags & dns.flags.QR, "QR not set"
            assert reply.question == query.question, reply.question
            assert not reply.answer, reply.answer
        # A datagram that already is a response is dropped, not bounced back (no loops).
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            s.sendto(reply.to_wire(), ("127.0.0.1", port))
            try:
                s.recv(512)
                raise AssertionError("a response was reflected")
            except socket.timeout:
                pass
        proc.terminate()
        assert proc.wait(timeout=5) == 0, "reflector did not exit cleanly on SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("reflector self-test: ok (port %d)" % port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
