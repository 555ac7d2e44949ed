from django.apps import AppConfig


class DigestConfig(AppConfig):
    name = "broadsheet.digest"
    label = "digest"
    verbose_name = "Daily digest"
    default_auto_field = "django.db.models.BigAutoField"
