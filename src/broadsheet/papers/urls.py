"""Paper pages: `/` (trending), `/day/`, `/week/`, `/month/` (the latest of each) and
`/day/YYYY-MM-DD/`, `/week/YYYY-Www/`, `/month/YYYY-MM/`, `/papers/<arxiv id>/`, `/authors/<id>/`,
`/categories/` and `/categories/<code>/`; each also answers `?format=json` (see views).

Period slugs match loosely here so that a wrong one (2025-02-30, 2025-W54) reaches the view, which
answers 404 saying what is wrong with it.
"""

from django.urls import path, re_path

from broadsheet.papers import views

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("day/", views.latest_period, {"kind": "day"}, name="latest-day"),
    path("week/", views.latest_period, {"kind": "week"}, name="latest-week"),
    path("month/", views.latest_period, {"kind": "month"}, name="latest-month"),
    re_path(r"^day/(?P<slug>[0-9A-Za-z-]{1,20})/$", views.day_papers, name="day"),
    re_path(r"^week/(?P<slug>[0-9A-Za-z-]{1,20})/$", views.week_papers, name="week"),
    re_path(r"^month/(?P<slug>[0-9A-Za-z-]{1,20})/$", views.month_papers, name="month"),
    # old-style ids contain a slash (hep-th/9901001)
    path("papers/<path:arxiv_id>/", views.paper_detail, name="paper"),
    path("authors/<int:author_id>/", views.author_detail, name="author"),
    path("categories/", views.category_index, name="categories"),
    path("categories/<str:code>/", views.category_detail, name="category"),
]
