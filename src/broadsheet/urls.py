"""URL map: pages, their JSON twins, and the admin."""

from django.contrib import admin
from django.urls import include, path

from broadsheet.trending.views import about_trending

urlpatterns = [
    path("admin/", admin.site.urls),
    path("about/trending/", about_trending, name="about-trending"),
    path("", include("broadsheet.accounts.urls")),
    path("", include("broadsheet.digest.urls")),
    path("", include("broadsheet.feeds.urls")),
    path("", include("broadsheet.search.urls")),
    path("", include("broadsheet.api.urls")),
    path("", include("broadsheet.papers.urls")),
]

handler404 = "broadsheet.papers.views.not_found"
