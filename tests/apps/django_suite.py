"""A one-file Django project (Debian's python3-django) inside
wsgiref.validate (all but its wsgi.input check, as for Flask), for the gateway's framework test (93).  Routes: / (text),
form/ (POST form and multipart file: JSON back), stream/ (StreamingHttpResponse),
file/?path=P (FileResponse: wsgi.file_wrapper), boom/ (an exception Django
turns into its own 500)."""
import hashlib
import os
import sys

import django
from django.conf import settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validated import wrap  # noqa: E402

settings.configure(
    DEBUG=False, SECRET_KEY="gateway-e2e-not-secret", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[], INSTALLED_APPS=[], USE_TZ=True, LOGGING_CONFIG=None,
    DATA_UPLOAD_MAX_MEMORY_SIZE=None)
django.setup()

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402


def index(request):
    return HttpResponse("hello from django", content_type="text/plain")


@csrf_exempt
def form(request):
    out = {"a": request.POST.get("a"), "b": request.POST.getlist("b")}
    f = request.FILES.get("up")
    if f is not None:
        data = f.read()
        out["file"] = {"name": f.name, "len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return JsonResponse(out)


def stream(request):
    n = int(request.GET.get("n", "10"))
    return StreamingHttpResponse(("line %d\n" % i for i in range(n)), content_type="text/plain")


def file(request):
    return FileResponse(open(request.GET["path"], "rb"), content_type="application/octet-stream")


def boom(request):
    raise RuntimeError("django-secret-boom")


urlpatterns = [path("", index), path("form/", form), path("stream/", stream), path("file/", file),
               path("boom/", boom)]

application = wrap(get_wsgi_application(), strict_input=False)
