"""The JSON API (django-ninja): the Hugging Face Papers-compatible endpoints (hf.py) and `/api/v1` for
everything the site shows (v1.py), with the OpenAPI schema at `/api/openapi.json` and its browsable docs
at `/api/docs`.

Rule: thin adapters over the services the pages use; every parameter that cannot be used answers 400
with a message saying what to change (never 422, never a 5xx).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from broadsheet.api import hf, v1
from broadsheet.search.query import QueryError

api = NinjaAPI(
    title="Broadsheet API",
    version="1",
    description=(
        "The papers of this Broadsheet. `/api/daily_papers`, `/api/papers/search` and `/api/papers/{id}` "
        "answer in the shape of the Hugging Face Papers API, so `huggingface_hub.HfApi(endpoint=...)` and "
        "the `hf papers` CLI (with `HF_ENDPOINT`) read them; `/api/v1/...` serves everything the site "
        "shows: papers, day/week/month lists, trending with its score components, categories, authors "
        "and search. Queries use the search language of the site: free words, \"quoted phrases\", "
        "-exclusions, author:, cat:, from:, to:."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ValidationError)
def invalid_parameters(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return api.create_response(request, {"error": "; ".join(problems)}, status=400)


@api.exception_handler(QueryError)
def bad_query(request: HttpRequest, exc: QueryError) -> HttpResponse:
    return api.create_response(request, {"error": str(exc)}, status=400)


api.add_router("", hf.router)
api.add_router("/v1", v1.router)
