"""URLs of the digest app: subscribing, the signed-link pages, and the bounce webhook."""

from django.urls import path

from broadsheet.digest import browser_views, views, webhooks

app_name = "digest"

urlpatterns: list = [
    path("digest/subscribe/", views.subscribe, name="subscribe"),
    path("digest/subscribe/me/", views.subscribe_me, name="subscribe-me"),
    path("digest/preferences/", views.my_preferences, name="my-preferences"),
    path("digest/confirm/<str:token>/", views.confirm, name="confirm"),
    path("digest/preferences/<str:token>/", views.preferences, name="preferences"),
    path("digest/unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path(
        "digest/unsubscribe/<str:token>/one-click/",
        views.unsubscribe_one_click,
        name="unsubscribe-one-click",
    ),
    path("digest/webhooks/bounces/", webhooks.bounce_webhook, name="bounce-webhook"),
    path("digest/view/<str:token>/", browser_views.view_digest, name="view"),
]
