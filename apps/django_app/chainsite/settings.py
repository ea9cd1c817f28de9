"""Settings of the chain's Django sample.

Everything that differs between a laptop and a server comes from the
environment, with defaults that are safe on localhost:

  DJANGO_SECRET_KEY      signing key (default: a random key kept in the run folder)
  DJANGO_DEBUG           "1" to turn debug pages on (default off)
  DJANGO_ALLOWED_HOSTS   comma-separated host names (default localhost,127.0.0.1,[::1])
  DJANGO_CSRF_TRUSTED_ORIGINS  comma-separated origins, e.g. https://shop.example
  DJANGO_BEHIND_TLS      "1" when a TLS terminator in front sets X-Forwarded-Proto
  CHAIN_RUN_DIR          run folder: SQLite database, collected static files
                         (default <repo>/run)

Static files are collected (manage.py collectstatic) into
$CHAIN_RUN_DIR/django-static, which the proxy serves itself
(`location /static/ { alias run/django-static/; }` in conf/django.conf);
Django never serves them.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent.parent
RUN_DIR = Path(os.environ.get("CHAIN_RUN_DIR") or REPO_DIR / "run").resolve()
RUN_DIR.mkdir(parents=True, exist_ok=True)


def _list(name, default):
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


def _secret_key():
    """All workers must share the key; the first to create the file wins."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = RUN_DIR / "django-secret-key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())
    except FileExistsError:
        pass
    import time

    for _ in range(50):
        key = path.read_text().strip()
        if len(key) == 64:
            return key
        time.sleep(0.01)
    raise RuntimeError("%s: unreadable secret key" % path)


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
if os.environ.get("DJANGO_BEHIND_TLS") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chainsite.urls"
WSGI_APPLICATION = "chainsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": RUN_DIR / "django.sqlite3",
        "OPTIONS": {"timeout": 10},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = RUN_DIR / "django-static"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
