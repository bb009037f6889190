"""Weekday names and the bit mask a calendar stores them as (bit 0 = Monday). Pure."""

from __future__ import annotations

from collections.abc import Iterable

WEEKDAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MONDAY_TO_FRIDAY_MASK = 0b0011111


def mask_of(weekday_names: Iterable[str]) -> int:
    """The bit mask of weekday names (bit 0 = Monday)."""
    return sum(1 << WEEKDAY_NAMES.index(name) for name in set(weekday_names))


def names_of(mask: int) -> list[str]:
    """Weekday names of a bit mask, Monday first."""
    return [name for index, name in enumerate(WEEKDAY_NAMES) if mask & (1 << index)]


def numbers_of(mask: int) -> frozenset[int]:
    """Weekday numbers (0 = Monday) of a bit mask."""
    return frozenset(index for index in range(7) if mask & (1 << index))
