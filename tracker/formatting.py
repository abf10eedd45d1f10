"""One way to write a date and a time for people: the clinic's date and clock styles.

Pages, emails and the day sheet use the Jinja filters `|day`, `|clock` and `|when`; every
instant is shown in the clinic's time zone. Machine formats (CSV, JSON, .ics) stay ISO 8601
and do not come here. The names of days and months are written out here rather than taken
from the process locale, so a server's locale cannot change what patients read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from jinja2 import pass_context

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# The clinic's choices, each shown to the admin as an example of the same day.
DATE_STYLES = {
    "weekday": "Wed 2 Dec 2026",
    "day_month": "2 Dec 2026",
    "month_day": "Wed, Dec 2, 2026",
    "long": "Wednesday 2 December 2026",
    "numeric_dmy": "02/12/2026",
    "numeric_mdy": "12/02/2026",
}
TIME_STYLES = {"24h": "24-hour (14:30)", "12h": "12-hour (2:30 pm)"}
DEFAULT_DATE_STYLE, DEFAULT_TIME_STYLE = "weekday", "24h"
EMPTY = "—"


def format_day(day: date, style: str = DEFAULT_DATE_STYLE) -> str:
    """A date in one of DATE_STYLES ('Wed 2 Dec 2026' by default)."""
    weekday, month = WEEKDAYS[day.weekday()], MONTHS[day.month - 1]
    if style == "day_month":
        return f"{day.day} {month[:3]} {day.year}"
    if style == "month_day":
        return f"{weekday[:3]}, {month[:3]} {day.day}, {day.year}"
    if style == "long":
        return f"{weekday} {day.day} {month} {day.year}"
    if style == "numeric_dmy":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if style == "numeric_mdy":
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    return f"{weekday[:3]} {day.day} {month[:3]} {day.year}"


def format_clock(moment: time, style: str = DEFAULT_TIME_STYLE) -> str:
    """A wall-clock time: '14:30' (24h) or '2:30 pm' (12h; 'noon' and 'midnight' spelt out)."""
    if style != "12h":
        return f"{moment.hour:02d}:{moment.minute:02d}"
    if moment.minute == 0 and moment.hour in (0, 12):
        return "midnight" if moment.hour == 0 else "noon"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


@dataclass(frozen=True)
class Style:
    """How this clinic writes dates and times, and the zone its times are shown in."""

    date_style: str
    time_style: str
    zone: ZoneInfo

    def local(self, moment: datetime) -> datetime:
        """An aware instant as clinic wall-clock time (a naive one is taken as already local)."""
        return moment.astimezone(self.zone) if moment.tzinfo is not None else moment

    def day(self, value: date | datetime | None) -> str:
        """A date, or an instant's clinic-local date."""
        if value is None:
            return EMPTY
        if isinstance(value, datetime):
            value = self.local(value).date()
        return format_day(value, self.date_style)

    def clock(self, value: time | datetime | None) -> str:
        """A time of day, or an instant's clinic-local time."""
        if value is None:
            return EMPTY
        if isinstance(value, datetime):
            value = self.local(value).time()
        return format_clock(value, self.time_style)

    def when(self, value: datetime | None) -> str:
        """An instant as 'Wed 2 Dec 2026, 14:30' in clinic time."""
        if value is None:
            return EMPTY
        return f"{self.day(value)}, {self.clock(value)}"


def style_for(settings) -> Style:
    """The Style of the clinic settings row."""
    return Style(
        settings.date_style or DEFAULT_DATE_STYLE,
        settings.time_style or DEFAULT_TIME_STYLE,
        ZoneInfo(settings.timezone),
    )


def request_style() -> Style:
    """The clinic's style for this request, reading the settings once per request (kept in the
    request's environ, which no later request shares); outside a request, read now."""
    from flask import has_request_context, request

    from .services.clinic import get_settings

    if not has_request_context():
        return style_for(get_settings())
    style = request.environ.get("tracker.clinic_style")
    if style is None:
        style = request.environ["tracker.clinic_style"] = style_for(get_settings())
    return style


def _style(context) -> Style:
    """The style a template renders with: mail passes `clinic_style`, pages use the request's."""
    style = context.get("clinic_style")
    return style if style is not None else request_style()


@pass_context
def day_filter(context, value) -> str:
    """Jinja `|day`."""
    return _style(context).day(value)


@pass_context
def clock_filter(context, value) -> str:
    """Jinja `|clock`."""
    return _style(context).clock(value)


@pass_context
def when_filter(context, value) -> str:
    """Jinja `|when`."""
    return _style(context).when(value)


def weekday_filter(value: date) -> str:
    """Jinja `|weekday`: the day's name ("Wednesday"), spelt out here as in format_day."""
    return WEEKDAYS[value.weekday()]


@pass_context
def local_date_filter(context, value: datetime) -> date:
    """Jinja `|local_date`: an instant's clinic-local date (for links such as the day sheet's)."""
    return _style(context).local(value).date()


def init_formatting(app) -> None:
    """Register the date and time filters on the app's Jinja environment (pages and mail)."""
    app.jinja_env.filters.update(
        day=day_filter,
        clock=clock_filter,
        when=when_filter,
        weekday=weekday_filter,
        local_date=local_date_filter,
    )
