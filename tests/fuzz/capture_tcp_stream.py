#!/usr/bin/python3
"""Saves the byte stream one DNS-over-TCP client sends to 127.0.0.1:PORT, for tcp_framing seeds.

  capture_tcp_stream.py DIR PORT NAME [HEADER_HEX]

Accepts one connection and answers each whole frame with the query echoed back, QR set and
REFUSED, so a client sending several queries on one connection (dig +keepopen, kdig +keepopen)
goes on to the next. When the client closes, or after 3 s of silence, writes HEADER_HEX (the
tcp_framing target's split header; default "00", one read of everything) and the stream to
DIR/NAME.
"""
import socket
import sys


def main():
    out_dir, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    header = bytes.fromhex(sys.argv[4] if len(sys.argv) > 4 else "00")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    listener.settimeout(10)
    conn, _ = listener.accept()
    conn.settimeout(3)
    stream = b""
    answered = 0  # bytes of the stream already answered
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            stream += data
            while len(stream) - answered >= 2:
                length = int.from_bytes(stream[answered:answered + 2], "big")
                if length < 12 or len(stream) - answered - 2 < length:
                    break
                query = stream[answered + 2:answered + 2 + length]
                flags = bytes([query[2] | 0x80, (query[3] & 0xF0) | 5])
                reply = query[:2] + flags + query[4:]
                conn.sendall(len(reply).to_bytes(2, "big") + reply)
                answered += 2 + length
    except socket.timeout:
        pass
    conn.close()
    with open(f"{out_dir}/{name}", "wb") as f:
        f.write(header + stream)


if __name__ == "__main__":
    main()
