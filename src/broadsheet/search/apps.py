from django.apps import AppConfig
from django.db.models.signals import post_migrate


def repair_fulltext_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table: put the full-text triggers
    back (and refill the index) after every migrate."""
    from broadsheet.search.bulk import repair_fulltext

    if using == "default":
        repair_fulltext()


class SearchConfig(AppConfig):
    name = "broadsheet.search"
    label = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        post_migrate.connect(repair_fulltext_after_migrate, sender=self)
