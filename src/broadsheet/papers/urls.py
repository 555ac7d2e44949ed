"""Paper pages: `/` (latest day), `/day/YYYY-MM-DD/`, `/papers/<arxiv id>/`, `/authors/<id>/`,
`/categories/` and `/categories/<code>/`; each also answers `?format=json` (see views)."""

from datetime import date

from django.urls import path, register_converter

from broadsheet.papers import views

app_name = "papers"


class IsoDateConverter:
    """`2025-09-22` <-> date; an impossible date (`2025-02-30`) does not match, so it is a 404."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)  # ValueError means "no match" to the resolver

    def to_url(self, value: date | str) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)


register_converter(IsoDateConverter, "isodate")

urlpatterns = [
    path("", views.home, name="home"),
    path("day/<isodate:day>/", views.day_papers, name="day"),
    # old-style ids contain a slash (hep-th/9901001)
    path("papers/<path:arxiv_id>/", views.paper_detail, name="paper"),
    path("authors/<int:author_id>/", views.author_detail, name="author"),
    path("categories/", views.category_index, name="categories"),
    path("categories/<str:code>/", views.category_detail, name="category"),
]
