"""The plain WSGI hello world: the smallest app the chain can carry.

Run it under the gateway with `--wsgi-file apps/hello/app.py` (callable
`application`, as uWSGI and gunicorn expect).  Used by deploy/run.sh
--app hello and by bench/chain_bench.sh."""

BODY = b"Hello, World!\n"


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


app = application
