"""Send windows: the weekday hours, in a time zone, in which messages may go out, and the
dates on which nothing goes out. Pure (no clock, no I/O): callers pass the time they judge.

A spec, as operators write it (DISPARO_PROVIDER_POLICIES' "send_window", a dispatch's
"janela_envio"):

    {"timezone": "America/Sao_Paulo",
     "hours": {"mon-fri": "08:00-20:00", "sat": ["08:00-12:00", "13:00-14:00"]},
     "holidays": ["2026-12-25"]}

Days not named are closed; "24:00" ends a day. Several windows apply together as their
intersection: a batch starts only when every one of them is open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "America/Sao_Paulo"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPEC_FIELDS = frozenset({"timezone", "hours", "holidays"})
# How far ahead an opening is looked for: past this, a window (or an intersection) never opens.
HORIZON_DAYS = 400
# Bounds the work of finding an opening, whatever is sent: 7 keys of 8 ranges each (the
# dispatch schema's limits) may all name one day.
MAX_RANGES_PER_DAY = 56
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
# What an IANA name looks like; anything else is refused before it reaches the file system.
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")
_SHOWN = 40  # characters of a refused value quoted back in its error
_MINUTES_PER_DAY = 24 * 60


class WindowError(ValueError):
    """A spec that cannot be a window; the message names what is wrong."""


@dataclass(frozen=True, slots=True)
class SendWindow:
    zone: str
    # Per weekday (Monday first): the open ranges as (start, end) minutes of the day; an end
    # past 1440 runs into the next day (an overnight range, "22:00-06:00").
    hours: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def with_holidays(self, extra: Iterable[date]) -> SendWindow:
        return SendWindow(self.zone, self.hours, self.holidays | frozenset(extra))

    def is_open(self, at: datetime) -> bool:
        return self.next_opening(at) == at.astimezone(UTC)

    def next_opening(self, at: datetime) -> datetime | None:
        """`at` if open then, else the first moment after it that is open; None if none
        within HORIZON_DAYS."""
        at = at.astimezone(UTC)
        for opens, closes in self._ranges_from(at):
            if closes > at:
                start = self._past_holidays(max(opens, at), closes)
                if start is not None:
                    return start
        return None

    def closing_after(self, at: datetime) -> datetime | None:
        """When the window, open at `at`, closes next; None when it is closed at `at`."""
        at = at.astimezone(UTC)
        if self.next_opening(at) != at:
            return None
        for opens, closes in self._ranges_from(at):
            if opens <= at < closes:
                return self._first_holiday_after(at, closes)
        return None  # pragma: no cover (next_opening found it open)

    def _ranges_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Every open range as UTC instants in order of opening, holidays not yet taken out,
        from yesterday's (an overnight range reaches into today) for HORIZON_DAYS."""
        first_day = at.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(HORIZON_DAYS + 2):
            day = first_day + timedelta(days=offset)
            for start, end in self.hours[day.weekday()]:
                yield self._instant(day, start), self._instant(day, end)

    def _past_holidays(self, at: datetime, closes: datetime) -> datetime | None:
        """`at`, or the first midnight after it ending a run of holidays, if before `closes`.
        A holiday closes its whole local date, an overnight range's hours in it too."""
        while at.astimezone(self.tz).date() in self.holidays:
            at = self._instant(at.astimezone(self.tz).date(), _MINUTES_PER_DAY)
            if at >= closes:
                return None
        return at

    def _first_holiday_after(self, at: datetime, closes: datetime) -> datetime:
        day = at.astimezone(self.tz).date() + timedelta(days=1)
        while (midnight := self._instant(day, 0)) < closes:
            if day in self.holidays:
                return midnight
            day += timedelta(days=1)
        return closes

    def _instant(self, day: date, minute: int) -> datetime:
        day, minute = day + timedelta(days=minute // _MINUTES_PER_DAY), minute % _MINUTES_PER_DAY
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)
        return local.astimezone(UTC)


def always_open(zone: str = DEFAULT_ZONE, holidays: Iterable[date] = ()) -> SendWindow:
    """Every hour of every day but the holidays: what DISPARO_HOLIDAYS alone means."""
    return SendWindow(zone, (((0, _MINUTES_PER_DAY),),) * 7, frozenset(holidays))


def is_open(windows: Sequence[SendWindow], at: datetime) -> bool:
    """Every window is open at `at` (no window: always open)."""
    return all(window.is_open(at) for window in windows)


def next_opening(windows: Sequence[SendWindow], at: datetime) -> datetime | None:
    """The first moment from `at` at which every window is open (`at` itself when they are
    all open now); None when they never are together within HORIZON_DAYS."""
    candidate = at.astimezone(UTC)
    limit = candidate + timedelta(days=HORIZON_DAYS)
    while candidate <= limit:
        closed = [window for window in windows if not window.is_open(candidate)]
        if not closed:
            return candidate
        openings = [window.next_opening(candidate) for window in closed]
        if any(opening is None for opening in openings):
            return None
        candidate = max(opening for opening in openings if opening is not None)
    return None


def finish_time(
    windows: Sequence[SendWindow], at: datetime, duration: timedelta
) -> datetime | None:
    """When `duration` of sending ends if it starts at the first opening from `at` and pauses
    whenever a window closes (a preflight's estimated finish); None if the windows stop
    opening first."""
    left, moment = duration, at
    while True:
        opened = next_opening(windows, moment)
        if opened is None:
            return None
        closings = [window.closing_after(opened) for window in windows]
        closes = min((c for c in closings if c is not None), default=None)
        if closes is None or opened + left <= closes:
            return opened + left
        left -= closes - opened
        moment = closes


def opening_label(window: SendWindow, at: datetime) -> str:
    """How people read an opening: "Mon 08:00" in the window's zone."""
    local = at.astimezone(window.tz)
    return f"{DAYS[local.weekday()].capitalize()} {local:%H:%M}"


def parse_window(
    spec: Any, *, field: str, default_zone: str = DEFAULT_ZONE, holidays: Iterable[date] = ()
) -> SendWindow:
    """A window from its spec; WindowError naming `field` and what is wrong otherwise."""
    if not isinstance(spec, Mapping):
        raise WindowError(f"{field}: expected an object with 'hours' (and 'timezone')")
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        raise WindowError(
            f"{field}: unknown field(s) {', '.join(map(_shown, unknown))}; "
            f"known: {', '.join(sorted(SPEC_FIELDS))}"
        )
    zone = parse_zone(spec.get("timezone", default_zone), field=f"{field}.timezone")
    hours = _parse_hours(spec.get("hours"), field=f"{field}.hours")
    own = parse_holidays(spec.get("holidays", []), field=f"{field}.holidays")
    return SendWindow(zone, hours, frozenset(own) | frozenset(holidays))


def parse_zone(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise WindowError(f"{field}: expected an IANA time zone name, e.g. {DEFAULT_ZONE}")
    try:
        if len(value) > 64 or not _ZONE_NAME.match(value):
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, e.g. "America"
        raise WindowError(f"{field}: unknown time zone {_shown(value)}") from None
    return value


def _shown(value: Any) -> str:
    """A refused value as its error quotes it: short, whatever was sent."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def parse_holidays(value: Any, *, field: str) -> list[date]:
    if not isinstance(value, list):
        raise WindowError(f"{field}: expected a list of dates (YYYY-MM-DD)")
    days = []
    for item in value:
        try:
            days.append(date.fromisoformat(item))
        except (TypeError, ValueError):
            raise WindowError(f"{field}: {_shown(item)} is not a date (YYYY-MM-DD)") from None
    return days


def _parse_hours(value: Any, *, field: str) -> tuple[tuple[tuple[int, int], ...], ...]:
    if not isinstance(value, Mapping) or not value:
        raise WindowError(f'{field}: expected e.g. {{"mon-fri": "08:00-20:00"}}')
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for days, ranges in value.items():
        weekdays = _parse_days(days, field=field)  # first: a valid key is short, safe to name
        listed = [ranges] if isinstance(ranges, str) else ranges
        if not isinstance(listed, list) or not listed:
            raise WindowError(f"{field}.{days}: expected 'HH:MM-HH:MM' or a list of them")
        parsed = [_parse_range(item, field=f"{field}.{days}") for item in listed]
        for weekday in weekdays:
            week[weekday].extend(parsed)
    if any(len(day) > MAX_RANGES_PER_DAY for day in week):
        raise WindowError(f"{field}: at most {MAX_RANGES_PER_DAY} ranges a day")
    return tuple(tuple(sorted(day)) for day in week)


def _parse_days(value: Any, *, field: str) -> list[int]:
    """A day or a day range, which may wrap around the week: "fri-mon" is Fri, Sat, Sun, Mon."""
    first, _, last = str(value).lower().partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise WindowError(f"{field}: {_shown(value)} is not a day or day range ({', '.join(DAYS)})")
    start, end = DAYS.index(first), DAYS.index(last or first)
    return [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]


def _parse_range(value: Any, *, field: str) -> tuple[int, int]:
    """Minutes of the day; a range that ends before it starts runs past midnight."""
    match = _RANGE.match(value) if isinstance(value, str) else None
    if match is None:
        raise WindowError(f"{field}: {_shown(value)} is not 'HH:MM-HH:MM'")
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start >= _MINUTES_PER_DAY or end > _MINUTES_PER_DAY:
        raise WindowError(f"{field}: {_shown(value)} is not a time of day (00:00 to 24:00)")
    if end == start:
        raise WindowError(f"{field}: {_shown(value)} is empty (it ends as it starts)")
    return start, end if end > start else end + _MINUTES_PER_DAY
