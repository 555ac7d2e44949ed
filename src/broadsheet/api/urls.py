"""`/api/` (the NinjaAPI, docs at /api/docs), `/papers/{arxiv_id}.md` (a paper as Markdown, for
`HfApi.read_paper`; before the paper pages' URLs so that it wins) and the docs page's own scripts and styles.

The docs page of django-ninja loads Swagger UI from the static files shipped inside the ninja package
(nothing from the internet); gunicorn serves no static files, so the few it needs are served here.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views.decorators.cache import cache_control

from broadsheet.api.api import api
from broadsheet.api.markdown import paper_markdown

NINJA_STATIC = Path(ninja.__file__).resolve().parent / "static" / "ninja"
DOCS_ASSETS = frozenset({
    "swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png",
    "favicon.svg",
})


@cache_control(max_age=86400, public=True)
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in DOCS_ASSETS:
        raise Http404("no such file")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse((NINJA_STATIC / name).open("rb"), content_type=content_type)


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any other path under /api/: JSON like the rest of the API, not the site's HTML 404 page."""
    return JsonResponse({"error": "no such API endpoint; see /api/docs"}, status=404)


urlpatterns = [
    path("api/", api.urls),
    re_path(r"^api/", api_not_found),
    # old-style ids contain a slash (hep-th/9901001.md)
    path("papers/<path:arxiv_id>.md", paper_markdown, name="paper-markdown"),
    path("static/ninja/<str:name>", docs_asset, name="api-docs-asset"),
]
