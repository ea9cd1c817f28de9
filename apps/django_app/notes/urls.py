from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("notes/<int:pk>/", views.note, name="note"),
    path("whoami/", views.whoami, name="whoami"),
]
