"""Accounts URLs: `/signin/`, `/signout/`, upvote and save under `/papers/<id>/`, `/votes/`,
`/collections/`, `/c/<id>-<slug>/`, `/submit/`, and the htmx script."""

from django.urls import path

from broadsheet.accounts import views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.signin_form, name="signin"),
    path("signin/link/<str:token>/", views.signin_link, name="signin-link"),
    path("signout/", views.signout, name="signout"),
    # before the papers app's `papers/<path:arxiv_id>/`; old-style ids contain a slash
    path("papers/<path:arxiv_id>/upvote/", views.upvote, name="upvote"),
    path("papers/<path:arxiv_id>/save/", views.save_to_collection, name="save"),
    path("votes/", views.vote_states, name="vote-states"),
    path("collections/", views.my_collections, name="collections"),
    path("c/<str:ref>/", views.collection_page, name="collection"),
    path("c/<str:ref>/edit/", views.collection_edit, name="collection-edit"),
    path("c/<str:ref>/delete/", views.collection_delete, name="collection-delete"),
    path("c/<str:ref>/remove/", views.collection_remove, name="collection-remove"),
    path("submit/", views.submit, name="submit"),
    path("assets/htmx-2.min.js", views.htmx_script, name="htmx"),
]
