#!/usr/bin/python3
"""Writes each UDP datagram received on 127.0.0.1:PORT to DIR/NAME (one file per query).

Seeds the query corpora with what real clients send:
  capture_queries.py DIR PORT NAME  # saves the next datagram as DIR/NAME, then exits
It answers nothing; clients time out, so run them with a short timeout and one try.
"""
import socket
import sys


def main():
    out_dir, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(10)
    data, _ = sock.recvfrom(65535)
    with open(f"{out_dir}/{name}", "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
