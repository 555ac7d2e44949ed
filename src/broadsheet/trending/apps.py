from django.apps import AppConfig


class TrendingConfig(AppConfig):
    name = "broadsheet.trending"
    label = "trending"
    verbose_name = "Trending"
