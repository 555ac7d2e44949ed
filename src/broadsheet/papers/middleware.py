"""Requests whose path or query string holds a NUL character are answered 400 before any view runs.

No URL or parameter of Broadsheet can contain one, and PostgreSQL refuses NUL in text, so letting one
reach a query would turn a typo or a probe into a server error.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "the address contains a NUL character (%00), which no parameter can hold"


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in _query(request)):
            if request.path.startswith("/api/") or request.GET.get("format") == "json":
                return JsonResponse({"error": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(
                f"Bad request: {NUL_MESSAGE}\n", content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


def _query(request: HttpRequest):
    for key, values in request.GET.lists():
        for value in values:
            yield key, value
