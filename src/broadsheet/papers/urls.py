from django.urls import path

from broadsheet.papers import views

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("papers/<path:arxiv_id>/", views.paper_detail, name="paper"),
    path("authors/<int:author_id>/", views.author_detail, name="author"),
    path("categories/<str:code>/", views.category_detail, name="category"),
]
