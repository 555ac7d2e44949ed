"""`/search` (with or without the trailing slash) and its JSON twin `/search?format=json`."""

from django.urls import re_path

from broadsheet.search import views

app_name = "search"

urlpatterns = [
    re_path(r"^search/?$", views.search, name="search"),
]
