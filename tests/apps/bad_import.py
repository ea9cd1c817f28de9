"""An app whose import fails: the gateway must exit naming this file and
showing the traceback."""
import gw_no_such_module_xyzzy  # noqa: F401


def application(environ, start_response):
    start_response("200 OK", [])
    return [b""]
