"""Feed URLs: `/feeds/trending.rss`, `/feeds/day/2025-09-22.atom`, `/feeds/week/2025-W39.rss`,
`/feeds/month/2025-09.rss`, `/feeds/category/cs.CL.atom`, `/feeds/author/<id>.rss`,
`/feeds/search.atom?q=...`; each in RSS 2.0 (`.rss`) and Atom (`.atom`)."""

from django.urls import re_path

from broadsheet.feeds import views

app_name = "feeds"

FORMAT = r"\.(?P<feed_format>rss|atom)$"

urlpatterns = [
    re_path(r"^feeds/trending" + FORMAT, views.trending_feed, name="trending"),
    re_path(
        r"^feeds/day/(?P<slug>[0-9A-Za-z-]{1,20})" + FORMAT, views.period_feed, {"kind": "day"}, name="day"
    ),
    re_path(
        r"^feeds/week/(?P<slug>[0-9A-Za-z-]{1,20})" + FORMAT, views.period_feed, {"kind": "week"}, name="week"
    ),
    re_path(
        r"^feeds/month/(?P<slug>[0-9A-Za-z-]{1,20})" + FORMAT,
        views.period_feed,
        {"kind": "month"},
        name="month",
    ),
    re_path(r"^feeds/category/(?P<code>[^/]+?)" + FORMAT, views.category_feed, name="category"),
    re_path(r"^feeds/author/(?P<author_id>[0-9]{1,12})" + FORMAT, views.author_feed, name="author"),
    re_path(r"^feeds/search" + FORMAT, views.search_feed, name="search"),
]
