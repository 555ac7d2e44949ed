"""The subscribe form and the preferences form, with the validation each field needs.

Rule: everything a reader types is checked against the database (categories, authors, arXiv ids) or a
fixed list (time zones) and refused with a message naming what was wrong; nothing is saved half-valid.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from broadsheet.digest.models import Subscriber
from broadsheet.ingest.records import normalize_author_name, split_arxiv_id
from broadsheet.papers.models import Author, Category, Paper

MIN_SIZE, MAX_SIZE = 5, 50
MAX_LIST_ITEMS = 50
MAX_SEED_PAPERS = 100
MAX_KEYWORD_CHARS = 100
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
LIST_SEPARATORS = re.compile(r"[,\n]")
ID_SEPARATORS = re.compile(r"[\s,]+")
# "Ada Lovelace [12]" as the preferences page shows a followed author, or a bare id "12"
AUTHOR_WITH_ID = re.compile(r"^(?:.*?\s*\[(\d{1,18})\]|(\d{1,18}))$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Email",
        error_messages={"invalid": "Enter an email address like name@example.org."},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.org"}),
    )


def split_list(raw: str, field: str) -> list[str]:
    """Comma- or line-separated entries, stripped, duplicates dropped, order kept."""
    if CONTROL_CHARACTERS.search(raw):
        raise ValidationError(f"{field}: control characters are not allowed.")
    items: list[str] = []
    for part in LIST_SEPARATORS.split(raw):
        item = " ".join(part.split())
        if item and item not in items:
            items.append(item)
    if len(items) > MAX_LIST_ITEMS:
        raise ValidationError(f"{field}: at most {MAX_LIST_ITEMS} entries.")
    return items


def clean_category_codes(raw: str) -> list[str]:
    codes: list[str] = []
    for code in ID_SEPARATORS.split(raw.strip()):
        if code and code not in codes:
            codes.append(code)
    if len(codes) > MAX_LIST_ITEMS:
        raise ValidationError(f"At most {MAX_LIST_ITEMS} categories.")
    known = set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
    resolved: list[str] = []
    unknown: list[str] = []
    for code in codes:
        if code in known:
            resolved.append(code)
            continue
        # arXiv codes have a fixed case (cs.LG); "cs.lg" typed by a reader means the same category
        match = Category.objects.filter(code__iexact=code[:40]).values_list("code", flat=True).first()
        if match is None:
            unknown.append(code[:40])
        elif match not in resolved:
            resolved.append(match)
    if unknown:
        raise ValidationError("Unknown categories: " + ", ".join(unknown[:10]) + ".")
    return resolved


def clean_author_lines(raw: str) -> list[int]:
    """Author ids from lines of ids, "Name [id]" or plain names (a name must match exactly one author)."""
    author_ids: list[int] = []
    problems: list[str] = []
    for line in split_list(raw, "Followed authors"):
        match = AUTHOR_WITH_ID.match(line)
        if match:
            author_id = int(match.group(1) or match.group(2))
            if not Author.objects.filter(pk=author_id).exists():
                problems.append(f"no author has id {author_id}")
                continue
        else:
            matches = list(Author.objects.filter(normalized_name=normalize_author_name(line))[:2])
            if not matches:
                problems.append(f"no author named “{line[:80]}” (search below to find the spelling)")
                continue
            author_id = matches[0].pk
        if author_id not in author_ids:
            author_ids.append(author_id)
    if problems:
        raise ValidationError("Followed authors: " + "; ".join(problems[:10]) + ".")
    return author_ids


def clean_seed_ids(raw: str) -> list[str]:
    arxiv_ids: list[str] = []
    malformed: list[str] = []
    for token in ID_SEPARATORS.split(raw.strip()):
        if not token:
            continue
        try:
            arxiv_id, _version = split_arxiv_id(token)
        except ValueError:
            malformed.append(token[:40])
            continue
        if arxiv_id not in arxiv_ids:
            arxiv_ids.append(arxiv_id)
    if malformed:
        raise ValidationError("Not arXiv identifiers: " + ", ".join(malformed[:10]) + ".")
    if len(arxiv_ids) > MAX_SEED_PAPERS:
        raise ValidationError(f"At most {MAX_SEED_PAPERS} seed papers.")
    known = set(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("arxiv_id", flat=True))
    missing = [arxiv_id for arxiv_id in arxiv_ids if arxiv_id not in known]
    if missing:
        raise ValidationError("Not in this collection: " + ", ".join(missing[:10]) + ".")
    return arxiv_ids


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(choices=Subscriber.Frequency.choices, widget=forms.RadioSelect)
    weekly_day = forms.TypedChoiceField(
        label="Day (weekly)", coerce=int, choices=list(enumerate(WEEKDAYS))
    )
    delivery_hour = forms.TypedChoiceField(
        label="Delivery hour", coerce=int, choices=[(hour, f"{hour:02d}:00") for hour in range(24)]
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        help_text="A time zone name such as Europe/Paris or America/New_York.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
    )
    size = forms.IntegerField(
        label="Papers per email",
        min_value=MIN_SIZE,
        max_value=MAX_SIZE,
        help_text=f"{MIN_SIZE} to {MAX_SIZE}.",
    )
    include_trending = forms.BooleanField(label="Include trending papers", required=False)
    trending_categories = forms.CharField(
        label="Trending only within these categories",
        required=False,
        help_text="Category codes separated by spaces, e.g. cs.LG cs.CL. Empty: trending everywhere.",
    )
    categories = forms.CharField(
        label="Categories for you",
        required=False,
        help_text="New papers in these categories, e.g. cs.CV stat.ML.",
    )
    include_keywords = forms.CharField(
        label="Only papers mentioning one of",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Keywords or phrases, one per line or comma-separated.",
    )
    exclude_keywords = forms.CharField(
        label="Never papers mentioning",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    followed_authors = forms.CharField(
        label="Followed authors",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: a name, or an author id (as shown in the author search).",
    )
    seed_papers = forms.CharField(
        label="More like these papers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="arXiv identifiers, e.g. 2501.01234.",
    )
    seeds_from_collections = forms.BooleanField(label="Use my saved collections as seeds too", required=False)
    skip_when_empty = forms.BooleanField(label="Skip the email when there is nothing new", required=False)

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if name not in time_zone_names():
            raise ValidationError("Unknown time zone: use a name such as Europe/Paris or UTC.")
        return name

    def clean_trending_categories(self) -> list[str]:
        return clean_category_codes(self.cleaned_data["trending_categories"])

    def clean_categories(self) -> list[str]:
        return clean_category_codes(self.cleaned_data["categories"])

    def clean_include_keywords(self) -> list[str]:
        return clean_keywords(self.cleaned_data["include_keywords"], "Keywords")

    def clean_exclude_keywords(self) -> list[str]:
        return clean_keywords(self.cleaned_data["exclude_keywords"], "Excluded keywords")

    def clean_followed_authors(self) -> list[int]:
        return clean_author_lines(self.cleaned_data["followed_authors"])

    def clean_seed_papers(self) -> list[str]:
        return clean_seed_ids(self.cleaned_data["seed_papers"])


def clean_keywords(raw: str, field: str) -> list[str]:
    keywords = split_list(raw, field)
    too_long = [keyword for keyword in keywords if len(keyword) > MAX_KEYWORD_CHARS]
    if too_long:
        raise ValidationError(f"{field}: each at most {MAX_KEYWORD_CHARS} characters.")
    return keywords


def preferences_initial(subscriber: Subscriber) -> dict[str, Any]:
    """The form's fields as the subscriber's row holds them (lists shown as text to edit)."""
    authors = {author.pk: author.name for author in Author.objects.filter(pk__in=subscriber.followed_authors)}
    return {
        "frequency": subscriber.frequency,
        "weekly_day": subscriber.weekly_day,
        "delivery_hour": subscriber.delivery_hour,
        "time_zone": subscriber.time_zone,
        "size": subscriber.size,
        "include_trending": subscriber.include_trending,
        "trending_categories": " ".join(subscriber.trending_categories),
        "categories": " ".join(subscriber.categories),
        "include_keywords": "\n".join(subscriber.include_keywords),
        "exclude_keywords": "\n".join(subscriber.exclude_keywords),
        "followed_authors": "\n".join(
            f"{authors[author_id]} [{author_id}]" if author_id in authors else str(author_id)
            for author_id in subscriber.followed_authors
        ),
        "seed_papers": "\n".join(subscriber.seed_papers),
        "seeds_from_collections": subscriber.seeds_from_collections,
        "skip_when_empty": subscriber.skip_when_empty,
    }


PREFERENCE_FIELDS = tuple(PreferencesForm.base_fields)


def save_preferences(subscriber: Subscriber, cleaned: dict[str, Any]) -> Subscriber:
    for name in PREFERENCE_FIELDS:
        setattr(subscriber, name, cleaned[name])
    subscriber.save(update_fields=list(PREFERENCE_FIELDS))
    return subscriber
