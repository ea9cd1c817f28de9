"""Views of the notes app: a list with a form (post/redirect/get), one
note's page, and a small JSON view of what Django saw of the request."""
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from .forms import NoteForm
from .models import Note


def index(request):
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            note = form.save()
            return redirect("note", pk=note.pk)
        status = 400
    else:
        form = NoteForm()
        status = 200
    return render(request, "notes/index.html", {"form": form, "notes": Note.objects.all()[:50]}, status=status)


def note(request, pk):
    return render(request, "notes/note.html", {"note": get_object_or_404(Note, pk=pk)})


def whoami(request):
    """The chain must carry the client's Host and scheme through to here."""
    return JsonResponse({
        "host": request.get_host(),
        "scheme": request.scheme,
        "absolute_index": request.build_absolute_uri(reverse("index")),
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
        "path": request.path,
        "script_name": request.META.get("SCRIPT_NAME"),
    })
