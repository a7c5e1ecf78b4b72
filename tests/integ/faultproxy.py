#!/usr/bin/env python3
"""faultproxy: an HTTP/1.1 proxy for the S3 fault scenarios.

    faultproxy.py LISTEN_PORT UPSTREAM_PORT EVENTS_FILE [RATE]

Listens on 127.0.0.1:LISTEN_PORT and forwards each request to s3rver on
127.0.0.1:UPSTREAM_PORT with its headers untouched (the Host header too, so
SigV4 signatures still verify). Every Nth request, N = round(1 / RATE)
(RATE defaults to 0.2), gets a fault instead, the kinds taken in turn so
that each shows up in a short run:

  500     an S3 InternalError answer, nothing forwarded
  503     an S3 SlowDown answer, nothing forwarded
  reset   the connection reset (RST) before forwarding
  lost    the request forwarded and applied, then the connection reset
          before the answer: the client must retry an operation that
          already succeeded
  hang    no answer for 4 s, then a reset
The request numbered by the environment's FAULTPROXY_STALL_AT (1-based)
instead gets no answer at all until FAULTPROXY_STALL_S seconds (default
40) have passed: longer than the client's low-speed timeout, so only a
client-side timeout ends it.

Each fault is appended to EVENTS_FILE as "KIND METHOD PATH"; "ready" on
stdout once listening. Bodies are read whole (tests move small objects).
"""
import http.client
import http.server
import os
import socket
import socketserver
import struct
import sys
import threading
import time

listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
events_path = sys.argv[3]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
period = max(1, round(1 / rate))
stall_at = int(os.environ.get("FAULTPROXY_STALL_AT", "0"))
stall_s = float(os.environ.get("FAULTPROXY_STALL_S", "40"))

lock = threading.Lock()
counter = 0
events = open(events_path, "a", buffering=1)

KINDS = ["500", "503", "reset", "lost", "hang"]
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}

ERROR_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
             '<Message>injected by faultproxy</Message></Error>')


def next_request():
    global counter
    with lock:
        counter += 1
        return counter


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def note(self, kind):
        events.write("%s %s %s\n" % (kind, self.command, self.path))

    def answer_error(self, status, code):
        body = (ERROR_XML % code).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, body):
        up = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
        up.putrequest(self.command, self.path, skip_host=True,
                      skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP and k.lower() != "expect":
                up.putheader(k, v)
        up.endheaders(body)
        resp = up.getresponse()
        data = resp.read()
        # A HEAD answer keeps the object's Content-Length; other answers
        # get the length of the body relayed.
        headers = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in HOP and
                   (self.command == "HEAD" or k.lower() != "content-length")]
        up.close()
        return resp.status, resp.reason, headers, data

    def handle_any(self):
        n = next_request()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if n == stall_at:
            self.note("stall")
            time.sleep(stall_s)
            self.reset()
            return
        kind = None
        if n % period == 0:
            kind = KINDS[(n // period) % len(KINDS)]
            self.note(kind)
        if kind == "500":
            return self.answer_error(500, "InternalError")
        if kind == "503":
            return self.answer_error(503, "SlowDown")
        if kind == "reset":
            return self.reset()
        if kind == "hang":
            time.sleep(4)
            return self.reset()
        status, reason, headers, data = self.forward(body)
        if kind == "lost":
            return self.reset()
        self.send_response(status, reason)
        for k, v in headers:
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", listen_port), Handler)
print("ready", flush=True)
server.serve_forever()
