"""URL map: pages, their JSON twins, and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("broadsheet.papers.urls")),
]

handler404 = "broadsheet.papers.views.not_found"
