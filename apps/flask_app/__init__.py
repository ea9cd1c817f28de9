"""Flask sample for the chain: routing, a form, a JSON API, file upload,
sessions, a streaming response and redirects built with url_for.

Runs under the gateway (uwsgi protocol, behind the proxy's `uwsgi_pass`,
see conf/flask.conf and conf/flask.ini) with Debian's python3-flask:

    gateway --socket run/flask.sock --pythonpath apps --module flask_app.wsgi:app

State lives in the run folder (CHAIN_RUN_DIR, default <repo>/run) so that
every gateway worker sees the same data: a SQLite guestbook, uploaded files
and the session signing key.
"""
import hashlib
import os
import sqlite3
import time

from flask import (Flask, Response, abort, flash, g, jsonify, redirect, render_template, request,
                   session, stream_with_context, url_for)
from jinja2 import DictLoader
from werkzeug.utils import secure_filename

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run_dir():
    d = os.environ.get("CHAIN_RUN_DIR") or os.path.join(REPO, "run")
    os.makedirs(d, exist_ok=True)
    return d


def secret_key(folder):
    """The session signing key: CHAIN_SECRET_KEY, or a random key kept in the
    run folder.  All workers must share it or a session cookie signed by one
    worker is refused by the next; O_EXCL makes the first writer win."""
    if os.environ.get("CHAIN_SECRET_KEY"):
        return os.environ["CHAIN_SECRET_KEY"]
    path = os.path.join(folder, "flask-secret-key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())
    except FileExistsError:
        pass
    for _ in range(50):  # another worker may be writing it right now
        with open(path) as f:
            key = f.read().strip()
        if len(key) == 64:
            return key
        time.sleep(0.01)
    raise RuntimeError("%s: unreadable session key" % path)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }} · chain Flask sample</title></head>
<body>
<nav><a href="{{ url_for('index') }}">home</a> ·
 <a href="{{ url_for('guestbook') }}">guestbook</a> ·
 <a href="{{ url_for('upload') }}">upload</a> ·
 <a href="{{ url_for('counter') }}">session counter</a> ·
 <a href="{{ url_for('stream') }}">stream</a> ·
 <a href="{{ url_for('api_messages') }}">JSON API</a> ·
 {% if session.get('user') %}signed in as {{ session['user'] }}
   (<a href="{{ url_for('logout') }}">sign out</a>){% else %}<a href="{{ url_for('login') }}">sign in</a>{% endif %}
</nav>
{% for m in get_flashed_messages() %}<p class="flash">{{ m }}</p>{% endfor %}
<h1>{{ title }}</h1>
{{ body|safe }}
</body></html>"""


def page(title, body=""):
    return render_template("page.html", title=title, body=body)  # compiled once, then cached


def create_app():
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"page.html": PAGE})
    folder = run_dir()
    app.config.update(
        SECRET_KEY=secret_key(folder),
        DATABASE=os.path.join(folder, "flask-guestbook.sqlite3"),
        UPLOAD_DIR=os.path.join(folder, "uploads"),
        MAX_CONTENT_LENGTH=int(os.environ.get("FLASK_MAX_UPLOAD", 16 * 1024 * 1024)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)

    def db():
        if "db" not in g:
            g.db = sqlite3.connect(app.config["DATABASE"], timeout=10)
            g.db.execute("CREATE TABLE IF NOT EXISTS message ("
                         "id INTEGER PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL, at REAL NOT NULL)")
        return g.db

    @app.teardown_appcontext
    def close_db(exc):
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    def add_message(name, text):
        conn = db()
        with conn:
            cur = conn.execute("INSERT INTO message (name, text, at) VALUES (?, ?, ?)", (name, text, time.time()))
        return cur.lastrowid

    def messages():
        rows = db().execute("SELECT id, name, text, at FROM message ORDER BY id DESC LIMIT 50").fetchall()
        return [{"id": r[0], "name": r[1], "text": r[2], "at": r[3]} for r in rows]

    @app.route("/")
    def index():
        session["visits"] = session.get("visits", 0) + 1
        return page("Hello from Flask behind the chain",
                    "<p>Host seen by the app: <code>%s</code>; this page's external URL: <code>%s</code>.</p>"
                    "<p>Visits in this session: %d.</p>" % (
                        request.host, url_for("index", _external=True), session["visits"]))

    @app.route("/hello/<name>")
    def hello(name):
        return page("Hello, %s!" % name.replace("<", "&lt;"))

    @app.route("/guestbook", methods=["GET", "POST"])
    def guestbook():
        if request.method == "POST":
            name = request.form.get("name", "").strip()
            text = request.form.get("text", "").strip()
            if not name or not text:
                return page("Guestbook", "<p class=error>name and text are required</p>" + FORM), 400
            add_message(name[:80], text[:2000])
            flash("Thanks, %s!" % name[:80])
            return redirect(url_for("guestbook"))  # post/redirect/get
        items = "".join("<li><b>%s</b>: %s</li>" % (esc(m["name"]), esc(m["text"])) for m in messages())
        return page("Guestbook", FORM + "<ul>%s</ul>" % items)

    @app.route("/api/messages", methods=["GET", "POST"])
    def api_messages():
        if request.method == "POST":
            data = request.get_json(silent=True)
            if not isinstance(data, dict) or not isinstance(data.get("name"), str) \
                    or not isinstance(data.get("text"), str) or not data["name"] or not data["text"]:
                return jsonify(error="expected a JSON object with string fields name and text"), 400
            mid = add_message(data["name"][:80], data["text"][:2000])
            resp = jsonify(id=mid, name=data["name"][:80], text=data["text"][:2000],
                           url=url_for("api_message", mid=mid, _external=True))
            resp.status_code = 201
            resp.headers["Location"] = url_for("api_message", mid=mid)
            return resp
        return jsonify(messages=messages())

    @app.route("/api/messages/<int:mid>")
    def api_message(mid):
        row = db().execute("SELECT id, name, text, at FROM message WHERE id = ?", (mid,)).fetchone()
        if row is None:
            abort(404)
        return jsonify(id=row[0], name=row[1], text=row[2], at=row[3])

    @app.route("/api/whoami")
    def whoami():
        """What the app sees of the request: the chain must carry the client's
        Host, scheme and address through to here."""
        return jsonify(host=request.host, url_root=request.url_root, scheme=request.scheme,
                       remote_addr=request.remote_addr, path=request.path,
                       external_index=url_for("index", _external=True),
                       script_name=request.environ.get("SCRIPT_NAME"),
                       server_name=request.environ.get("SERVER_NAME"))

    @app.route("/upload", methods=["GET", "POST"])
    def upload():
        if request.method == "GET":
            return page("Upload a file", UPLOAD_FORM)
        f = request.files.get("file")
        if f is None or not f.filename:
            return jsonify(error="no file in field 'file'"), 400
        name = secure_filename(f.filename) or "upload.bin"
        path = os.path.join(app.config["UPLOAD_DIR"], name)
        h = hashlib.sha256()
        size = 0
        with open(path, "wb") as out:
            while True:
                chunk = f.stream.read(65536)
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return jsonify(name=name, size=size, sha256=h.hexdigest(), note=request.form.get("note", ""))

    @app.route("/counter")
    def counter():
        session["count"] = session.get("count", 0) + 1
        if request.accept_mimetypes.best == "application/json":
            return jsonify(count=session["count"])
        return page("Session counter", "<p>You have been here %d times.</p>" % session["count"])

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            user = request.form.get("user", "").strip()
            if not user:
                return page("Sign in", LOGIN_FORM), 400
            session["user"] = user[:40]
            return redirect(request.args.get("next") or url_for("index"))
        return page("Sign in", LOGIN_FORM)

    @app.route("/logout")
    def logout():
        session.pop("user", None)
        return redirect(url_for("index"))

    @app.route("/stream")
    def stream():
        """A response the app produces piece by piece: no Content-Length, so
        the gateway sends it chunked and the proxy passes chunks along."""
        n = min(max(request.args.get("n", 5, type=int), 0), 1000)
        delay = min(max(request.args.get("delay", 0.0, type=float), 0.0), 1.0)

        def lines():
            for i in range(n):
                yield "line %d of %d\n" % (i + 1, n)
                if delay:
                    time.sleep(delay)
            yield "done\n"
        return Response(stream_with_context(lines()), mimetype="text/plain")

    @app.route("/work")
    def work():
        """Simulated slow work (a slow query, say) of ?ms= milliseconds, at
        most 2 s: watch it appear as `app` in the Server-Timing header."""
        ms = min(max(request.args.get("ms", 100, type=int), 0), 2000)
        time.sleep(ms / 1000.0)
        return jsonify(worked_ms=ms)

    @app.route("/go/<target>")
    def go(target):
        """A redirect built by url_for: relative by default, external when asked."""
        if target not in ("index", "guestbook", "counter"):
            abort(404)
        return redirect(url_for(target, _external=request.args.get("external") == "1"))

    return app


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


FORM = """<form method="post">
<label>name <input name="name" maxlength="80"></label>
<label>message <input name="text" maxlength="2000"></label>
<button>sign the guestbook</button></form>"""

UPLOAD_FORM = """<form method="post" enctype="multipart/form-data">
<input type="file" name="file"> <input name="note" placeholder="note">
<button>upload</button></form>"""

LOGIN_FORM = """<form method="post"><label>user <input name="user"></label><button>sign in</button></form>"""
