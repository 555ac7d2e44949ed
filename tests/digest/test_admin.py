"""The admin shows each digest run with its outbox counts, and the deliveries to look at."""

from __future__ import annotations

from datetime import date, timedelta

from broadsheet.digest.models import Delivery, DigestRun

from .conftest import NOW


def test_run_list_shows_counts_per_status_and_deliveries_filter_by_status(admin_client, make_subscriber):
    run = DigestRun.objects.create(started_at=NOW, trigger="schedule")
    for number, status in enumerate(["sent", "sent", "sent", "uncertain", "abandoned", "failed", "queued"]):
        Delivery.objects.create(
            subscriber=make_subscriber(f"r{number}@example.org"),
            run=run,
            digest_date=date(2026, 3, 2),
            status=status,
            due_at=NOW,
            cutoff_at=NOW + timedelta(hours=6),
            updated_at=NOW,
        )

    page = admin_client.get("/admin/digest/digestrun/").content.decode()
    cells = [
        page.split(f'class="field-{name}">', 1)[1].split("<", 1)[0]
        for name in ["queued", "sent", "failed", "uncertain", "abandoned", "skipped"]
    ]
    assert cells == ["1", "3", "1", "1", "1", "0"]

    uncertain = admin_client.get("/admin/digest/delivery/?status__exact=uncertain").content.decode()
    assert "r3@example.org" in uncertain and "r0@example.org" not in uncertain
