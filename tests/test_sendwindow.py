"""The pure window logic: a table of (window, at) -> open? / next opening, and the specs
refused with the field that is wrong. Fri 2026-12-04; São Paulo is UTC-3 all year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from disparo.campaigns.windows import finish_time, is_open, next_opening
from disparo.sendwindow import WindowError, always_open, opening_label, parse_window

BUSINESS: dict[str, Any] = {
    "hours": {"mon-fri": "08:00-20:00", "sat": "08:00-14:00"},
    "holidays": ["2026-12-25"],
}
SAO_PAULO = parse_window(BUSINESS, field="w")
NORONHA = parse_window({**BUSINESS, "timezone": "America/Noronha"}, field="w")  # UTC-2
GMT_PLUS_3 = parse_window({**BUSINESS, "timezone": "Etc/GMT+3"}, field="w")  # UTC-3, no DST
MORNINGS_NORONHA = parse_window(
    {"timezone": "America/Noronha", "hours": {"mon-fri": "09:00-12:00"}}, field="w"
)
NEW_YORK = parse_window(
    {"timezone": "America/New_York", "hours": {"mon": "08:00-09:00"}}, field="w"
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = [
    # (windows, at (UTC), next opening (UTC); equal to `at` when open)
    ("open mid-morning", [SAO_PAULO], "2026-12-04 12:00", "2026-12-04 12:00"),
    ("last second of Friday", [SAO_PAULO], "2026-12-04 22:59:59", "2026-12-04 22:59:59"),
    ("closes at 20:00 sharp", [SAO_PAULO], "2026-12-04 23:00", "2026-12-05 11:00"),
    ("before opening", [SAO_PAULO], "2026-12-04 10:59", "2026-12-04 11:00"),
    ("Saturday after 14:00: Monday", [SAO_PAULO], "2026-12-05 17:00", "2026-12-07 11:00"),
    ("Sunday: Monday", [SAO_PAULO], "2026-12-06 03:00", "2026-12-07 11:00"),
    ("local date behind UTC's", [SAO_PAULO], "2026-12-24 02:00", "2026-12-24 11:00"),
    ("Christmas skipped", [SAO_PAULO], "2026-12-24 23:30", "2026-12-26 11:00"),
    ("on the holiday itself", [SAO_PAULO], "2026-12-25 15:00", "2026-12-26 11:00"),
    ("fixed offset Etc/GMT+3", [GMT_PLUS_3], "2026-12-04 10:30", "2026-12-04 11:00"),
    ("Noronha opens an hour earlier", [NORONHA], "2026-12-04 10:30", "2026-12-04 10:30"),
    ("intersection: the later opening", [SAO_PAULO, MORNINGS_NORONHA], "2026-12-04 10:00",
     "2026-12-04 11:00"),
    ("intersection: both open", [SAO_PAULO, MORNINGS_NORONHA], "2026-12-04 12:30",
     "2026-12-04 12:30"),
    ("intersection: the narrower closes first", [SAO_PAULO, MORNINGS_NORONHA],
     "2026-12-04 14:00", "2026-12-07 11:00"),
    ("New York in winter (UTC-5)", [NEW_YORK], "2027-03-01 12:00", "2027-03-01 13:00"),
    ("New York after DST starts (UTC-4)", [NEW_YORK], "2027-03-15 11:00", "2027-03-15 12:00"),
    ("no window: always open", [], "2026-12-06 03:00", "2026-12-06 03:00"),
    ("holidays alone", [always_open(holidays=[date(2026, 12, 25)])], "2026-12-25 04:00",
     "2026-12-26 03:00"),
    ("holidays alone: the eve is open", [always_open(holidays=[date(2026, 12, 25)])],
     "2026-12-25 02:00", "2026-12-25 02:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("windows", "at", "opening"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_next_opening(windows: list[Any], at: str, opening: str) -> None:
    assert next_opening(windows, utc(at)) == utc(opening)
    assert is_open(windows, utc(at)) == (at == opening)
    assert is_open(windows, utc(opening))


def test_windows_that_never_meet_never_open() -> None:
    mondays = parse_window({"hours": {"mon": "08:00-20:00"}}, field="w")
    tuesdays = parse_window({"hours": {"tue": "08:00-20:00"}}, field="w")
    assert next_opening([mondays, tuesdays], utc("2026-12-04 12:00")) is None


def test_label_is_in_the_windows_zone() -> None:
    assert opening_label(SAO_PAULO, utc("2026-12-07 11:00")) == "Mon 08:00"
    assert opening_label(NORONHA, utc("2026-12-07 11:00")) == "Mon 09:00"


def test_several_ranges_in_a_day_and_24_00() -> None:
    split = parse_window({"hours": {"sun": ["13:00-24:00", "08:00-12:00"]}}, field="w")
    assert next_opening([split], utc("2026-12-06 15:30")) == utc("2026-12-06 16:00")
    assert is_open([split], utc("2026-12-07 02:59"))  # Sun 23:59 local
    assert not is_open([split], utc("2026-12-07 03:00"))  # Mon 00:00 local


OVERNIGHT = parse_window({"hours": {"fri-mon": "22:00-06:00"}}, field="w")


@pytest.mark.parametrize(
    ("at", "opening"),
    [
        ("2026-12-05 02:00", "2026-12-05 02:00"),  # Fri 23:00 local: in Friday's night
        ("2026-12-08 08:00", "2026-12-08 08:00"),  # Tue 05:00: Monday's night, wrapped
        ("2026-12-08 09:00", "2026-12-12 01:00"),  # Tue 06:00: closed until Friday 22:00
        ("2026-12-09 02:00", "2026-12-12 01:00"),  # Tue 23:00: Tuesday has no night
    ],
)
def test_overnight_ranges_and_a_week_that_wraps(at: str, opening: str) -> None:
    assert next_opening([OVERNIGHT], utc(at)) == utc(opening)


def test_a_holiday_closes_the_night_that_reaches_into_it() -> None:
    window = OVERNIGHT.with_holidays([date(2026, 12, 26)])  # a Saturday
    # Fri 22:00 opens, Sat 00:00 closes (holiday); Sat's own night is gone too: Sun 00:00.
    assert window.closing_after(utc("2026-12-26 01:30")) == utc("2026-12-26 03:00")
    assert next_opening([window], utc("2026-12-26 03:00")) == utc("2026-12-27 03:00")
    assert finish_time([window], utc("2026-12-26 01:00"), timedelta(hours=4)) == utc(
        "2026-12-27 05:00"
    )


def test_global_holidays_join_the_windows_own() -> None:
    window = parse_window(BUSINESS, field="w", holidays=[date(2026, 12, 7)])
    assert next_opening([window], utc("2026-12-06 12:00")) == utc("2026-12-08 11:00")


FINISHES = [
    # (windows, start (UTC), hours of sending, finish (UTC))
    ("fits before the closing", [SAO_PAULO], "2026-12-04 12:00", 2, "2026-12-04 14:00"),
    ("pauses Friday night, goes on Saturday", [SAO_PAULO], "2026-12-04 21:00", 3,
     "2026-12-05 12:00"),
    ("starts at the next opening", [SAO_PAULO], "2026-12-05 18:00", 1, "2026-12-07 12:00"),
    ("skips Christmas", [SAO_PAULO], "2026-12-24 22:00", 2, "2026-12-26 12:00"),
    ("intersection: three mornings", [SAO_PAULO, MORNINGS_NORONHA], "2026-12-04 11:00", 7,
     "2026-12-08 12:00"),
    ("no window", [], "2026-12-06 03:00", 30, "2026-12-07 09:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("windows", "start", "hours", "finish"),
    [case[1:] for case in FINISHES],
    ids=[case[0] for case in FINISHES],
)
def test_finish_time_pauses_while_closed(
    windows: list[Any], start: str, hours: int, finish: str
) -> None:
    assert finish_time(windows, utc(start), timedelta(hours=hours)) == utc(finish)


def test_finish_time_of_windows_that_never_meet() -> None:
    mondays = parse_window({"hours": {"mon": "08:00-20:00"}}, field="w")
    tuesdays = parse_window({"hours": {"tue": "08:00-20:00"}}, field="w")
    assert finish_time([mondays, tuesdays], utc("2026-12-04 12:00"), timedelta(1)) is None


FIFTY_SEVEN = [f"{hour:02d}:{minute:02d}-{hour:02d}:{minute + 1:02d}"
               for hour in range(19) for minute in (0, 20, 40)]  # fmt: skip
REFUSED = [
    ("not an object", "08:00-20:00", "janela_envio: expected an object"),
    ("unknown field", {"hours": {"mon": "08:00-09:00"}, "days": 1}, "unknown field(s) 'days'"),
    ("no hours", {"timezone": "UTC"}, "janela_envio.hours: expected"),
    ("unknown zone", {"timezone": "Mars/Base", "hours": {"mon": "08:00-09:00"}},
     "janela_envio.timezone: unknown time zone 'Mars/Base'"),
    ("unknown day", {"hours": {"mon-fry": "08:00-09:00"}}, "'mon-fry' is not a day"),
    ("bad range", {"hours": {"mon": "8h-9h"}}, "janela_envio.hours.mon: '8h-9h' is not"),
    ("past midnight", {"hours": {"mon": "08:00-24:30"}}, "is not a time of day"),
    ("empty range", {"hours": {"mon": "08:00-08:00"}}, "'08:00-08:00' is empty"),
    ("empty list", {"hours": {"mon": []}}, "janela_envio.hours.mon: expected"),
    ("a folder, not a zone", {"timezone": "America", "hours": {"mon": "08:00-09:00"}},
     "unknown time zone 'America'"),
    ("a path, not a zone", {"timezone": "../../etc/passwd", "hours": {"mon": "08:00-09:00"}},
     "unknown time zone '../../etc/passwd'"),
    ("a long value is cut", {"timezone": "A" * 5000, "hours": {"mon": "08:00-09:00"}},
     "unknown time zone 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…"),
    ("too many ranges", {"hours": {"mon": FIFTY_SEVEN}}, "at most 56 ranges a day"),
    ("bad holiday", {"hours": {"mon": "08:00-09:00"}, "holidays": ["25/12/2026"]},
     "janela_envio.holidays: '25/12/2026' is not a date"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "message"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_refused_specs_name_the_field(spec: Any, message: str) -> None:
    with pytest.raises(WindowError) as refused:
        parse_window(spec, field="janela_envio")
    assert message in str(refused.value)
