"""The sample's one model: a short note, editable in the admin."""
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=120)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.title
