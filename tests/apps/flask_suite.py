"""A Flask app (Debian's python3-flask) inside wsgiref.validate (all but its
wsgi.input check: Werkzeug reads with read() and no size), for the
gateway's framework test (93).  Routes: / (text), /form (POST form and
multipart file: JSON back), /json (echo), /stream (a streamed generator),
/file?path=P (send_file: wsgi.file_wrapper), /teapot (abort 418),
/boom (an exception Flask turns into its own 500)."""
import hashlib
import os
import sys

from flask import Flask, Response, abort, jsonify, request, send_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validated import wrap  # noqa: E402

app = Flask(__name__)


@app.route("/")
def index():
    return "hello from flask"


@app.route("/form", methods=["POST"])
def form():
    out = {"a": request.form.get("a"), "b": request.form.getlist("b")}
    f = request.files.get("up")
    if f is not None:
        data = f.read()
        out["file"] = {"name": f.filename, "len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return jsonify(out)


@app.route("/json", methods=["POST"])
def json_echo():
    return jsonify({"got": request.get_json(), "ct": request.content_type})


@app.route("/stream")
def stream():
    n = int(request.args.get("n", "10"))

    def gen():
        for i in range(n):
            yield "line %d\n" % i
    return Response(gen(), mimetype="text/plain")


@app.route("/file")
def file():
    return send_file(request.args["path"], mimetype="application/octet-stream")


@app.route("/teapot")
def teapot():
    abort(418)


@app.route("/boom")
def boom():
    raise RuntimeError("flask-secret-boom")


application = wrap(app, strict_input=False)
