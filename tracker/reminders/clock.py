"""The moment a sweep runs at, seen from the clinic: today, send hours, local times."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Clock:
    """A sweep's instant (aware, UTC) with the clinic's zone and send hours."""

    now: datetime
    zone: ZoneInfo
    send_hours_start: int
    send_hours_end: int
    # Patient mail tells people to call the clinic: without a clinic phone it waits.
    patient_mail_held: bool = False

    @classmethod
    def for_settings(cls, now: datetime, settings) -> "Clock":
        """The clock of a sweep at `now` for the clinic's settings."""
        if now.tzinfo is None:
            raise ValueError("a sweep's instant must be timezone-aware")
        return cls(now.astimezone(timezone.utc), ZoneInfo(settings.timezone),
                   settings.send_hours_start, settings.send_hours_end,
                   patient_mail_held=not (settings.phone or "").strip())

    @classmethod
    def on_date(cls, day: date, settings) -> "Clock":
        """The last minute of `day`'s send hours: what that day's sweeps would have done."""
        zone = ZoneInfo(settings.timezone)
        local = datetime.combine(day, time(settings.send_hours_end - 1, 59), tzinfo=zone)
        return cls.for_settings(local.astimezone(timezone.utc), settings)

    @property
    def local(self) -> datetime:
        return self.now.astimezone(self.zone)

    @property
    def today(self) -> date:
        """The clinic-local date of the sweep."""
        return self.local.date()

    @property
    def in_send_hours(self) -> bool:
        """Window reminders go out only between the send hours, clinic-local."""
        return self.send_hours_start <= self.local.hour < self.send_hours_end

    def latest_send_moment(self, instant: datetime) -> datetime:
        """`instant` if it falls within the send hours; else the start of the last send hour
        before it (the start, not the last minute: a sweep every few minutes still sends it
        inside the hours)."""
        local = instant.astimezone(self.zone)
        if self.send_hours_start <= local.hour < self.send_hours_end:
            return instant
        day = local.date() if local.hour >= self.send_hours_end else local.date() - timedelta(days=1)
        return self.at_local(day, self.send_hours_end - 1)

    def at_local(self, day: date, hour: int) -> datetime:
        """`hour`:00 clinic-local on `day`, as a UTC instant (whole hours always exist)."""
        return datetime.combine(day, time(hour), tzinfo=self.zone).astimezone(timezone.utc)
