"""Template filters of the paper lists: counts as a reader skims them (1.2k, 34k, 1.5M).

Rule: numbers in, plain text out; the template escapes it.
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def compact(value: object) -> str:
    """1234 -> "1.2k", 12345 -> "12k", 1500000 -> "1.5M"; below 1000 as is; "" for a non-number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    number = float(value)
    sign = "-" if number < 0 else ""
    number = abs(number)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if number >= size * 0.9995:
            scaled = number / size
            text = f"{scaled:.1f}" if scaled < 9.95 else f"{scaled:.0f}"
            return sign + text.removesuffix(".0") + suffix
    return sign + f"{number:.0f}"
