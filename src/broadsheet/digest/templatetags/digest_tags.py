"""The subscribe box in every page's header: a form for readers, one button or a settings link when signed in.

Rule: one query at most, and only for a signed-in reader; anonymous pages cost nothing.
"""

from __future__ import annotations

from typing import Any

from django import template

from broadsheet.digest.models import Subscriber
from broadsheet.digest.subscriptions import subscriber_for_user

register = template.Library()


@register.inclusion_tag("digest/_subscribe_box.html", takes_context=True)
def digest_subscribe_box(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated and getattr(user, "email", ""))
    subscriber = subscriber_for_user(user) if signed_in else None
    return {
        "csrf_token": context.get("csrf_token"),
        "signed_in": signed_in,
        "account_email": user.email if signed_in and user is not None else "",
        "subscribed": subscriber is not None and subscriber.status == Subscriber.Status.ACTIVE,
    }
