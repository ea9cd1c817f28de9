"""--module gwpkg.web (application) or gwpkg.web:app (another callable).
Answers JSON: which callable ran, os.environ[GW_TEST_ENV], the cwd."""
import json
import os
from wsgiref import validate


def make(name):
    def app(environ, start_response):
        body = json.dumps({"callable": name, "env": os.environ.get("GW_TEST_ENV"),
                           "cwd": os.getcwd(), "pid": os.getpid()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return validate.validator(app)


application = make("application")
app = make("app")
