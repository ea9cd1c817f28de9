"""A WSGI app for the head-of-line tests (96_gateway_hol.py).

GET /            -> "pid=<worker pid>"
GET /hold?sock=P -> connects to the unix socket P (which the test listens
                    on), sends its pid, and waits until the test sends a byte
                    or closes: the request runs exactly as long as the test
                    holds it, with no clock involved."""
import os
import socket
from urllib.parse import parse_qs


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if environ["PATH_INFO"] == "/hold":
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(60)
        s.connect(q["sock"])
        s.sendall(b"%d\n" % os.getpid())
        try:
            s.recv(1)
        finally:
            s.close()
    body = b"pid=%d" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
