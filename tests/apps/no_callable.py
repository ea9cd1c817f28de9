"""An app file without an `application` callable."""


def not_the_app(environ, start_response):
    start_response("200 OK", [])
    return [b""]
