"""URLs of the digest app."""

from django.urls import path  # noqa: F401

app_name = "digest"

urlpatterns: list = []
