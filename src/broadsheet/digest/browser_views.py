"""The "view in browser" page: a sent digest's HTML at `/digest/view/<signed token>/`.

Rule: the signed token (subscriber, digest date, token version) is the only credential; the page shows only
a delivery that was sent (or may have been), rebuilt from the papers it carried, in their order.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from broadsheet.digest.compose import digest_of_papers
from broadsheet.digest.models import Delivery
from broadsheet.digest.render import read_view_token, render_digest

SHOWN_STATUSES = (Delivery.Status.SENT, Delivery.Status.UNCERTAIN)


@require_GET
def view_digest(request: HttpRequest, token: str) -> HttpResponse:
    found = read_view_token(token)
    if found is None:
        raise Http404("no such digest")
    subscriber, digest_date = found
    delivery = Delivery.objects.filter(
        subscriber=subscriber, digest_date=digest_date, status__in=SHOWN_STATUSES
    ).first()
    if delivery is None:
        raise Http404("no such digest")
    now = delivery.sent_at or delivery.claimed_at or delivery.due_at
    digest = digest_of_papers(subscriber, [int(paper_id) for paper_id in delivery.paper_ids], now=now)
    rendered = render_digest(digest, subscriber, digest_date=digest_date, in_browser=True)
    response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
    # the URL is a credential: no shared caches, no Referer to the sites it links to, no search engines
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
