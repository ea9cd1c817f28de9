"""WSGI entry point of the Django sample:
`--pythonpath apps/django_app --module chainsite.wsgi` (callable `application`),
or `--wsgi-file apps/django_app/chainsite/wsgi.py`."""
import os
import sys

# With --wsgi-file the project folder may not be on sys.path yet.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chainsite.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
