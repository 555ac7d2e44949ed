from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Broadsheet")


def paper_detail(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    raise Http404


def author_detail(request: HttpRequest, author_id: int) -> HttpResponse:
    raise Http404


def category_detail(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return HttpResponseNotFound("Not found")
