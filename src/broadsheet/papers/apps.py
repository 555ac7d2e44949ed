from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "broadsheet.papers"
    label = "papers"
    verbose_name = "Papers"
