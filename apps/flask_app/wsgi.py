"""WSGI entry point of the Flask sample: `--module flask_app.wsgi:app`
(or `--wsgi-file apps/flask_app/wsgi.py`, callable `application`)."""
import os
import sys

# With --wsgi-file the package's parent folder may not be on sys.path yet.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_app import create_app  # noqa: E402

app = create_app()
application = app
