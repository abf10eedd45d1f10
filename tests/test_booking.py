"""The pure booking rules: block lengths across daylight saving, conflicts, capacity, slots."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tracker import booking

NY = ZoneInfo("America/New_York")
WEEKDAYS_8_TO_18 = {day: (time(8), time(18)) for day in range(5)}
MAINTENANCE = booking.BlockLength(15, 40, 45)  # 100 minutes
FOUR_HOURS = booking.BlockLength(0, 240, 0)
MONDAY = date(2027, 1, 4)
EARLY = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rules(**kw) -> booking.ClinicRules:
    values = dict(zone=NY, hours=WEEKDAYS_8_TO_18, closed={}, step_min=15, max_concurrent=2)
    values.update(kw)
    return booking.ClinicRules(**values)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return booking.local_instant(day, time(hour, minute), NY)


def block(chair, start: datetime, minutes=100, patient=99, clinician=None, prep=15, infusion=40):
    s = booking.epoch(start)
    return booking.Block(chair, s, s + minutes * 60, patient, clinician, s + prep * 60,
                         s + (prep + infusion) * 60)


def check(start, *, chair=1, blocks=(), patient=1, clinician=None, length=MAINTENANCE, **kw):
    return booking.check_block(chair_id=chair, start=start, length=length, patient_id=patient,
                               clinician_id=clinician, blocks=list(blocks), rules=rules(**kw),
                               now=EARLY)


@pytest.mark.parametrize("day, start_hour, wall_end", [
    (date(2026, 3, 8), 9, time(13, 0)),    # clocks went forward at 02:00 that night
    (date(2026, 11, 1), 9, time(13, 0)),   # clocks went back at 02:00 that night
    (date(2026, 3, 8), 0, time(5, 0)),     # spans the jump: 4 elapsed hours end at 05:00 EDT
    (date(2026, 11, 1), 0, time(3, 0)),    # spans the repeat: 4 elapsed hours end at 03:00 EST
])
def test_four_hour_block_on_daylight_saving_days(day, start_hour, wall_end):
    """A 4-hour block lasts 4 elapsed hours and reads back the right wall-clock end on DST days."""
    start = booking.local_instant(day, time(start_hour), NY)
    end = booking.block_end(start, FOUR_HOURS.total_min)
    assert end - start == timedelta(hours=4)
    assert booking.wall(end, NY) == datetime.combine(day, wall_end)


def test_daytime_block_utc_offsets_follow_the_change():
    """09:00-13:00 on 2026-03-08 is 13:00-17:00 UTC (EDT), the day before it was 14:00-18:00."""
    assert local(date(2026, 3, 8), 9) == datetime(2026, 3, 8, 13, tzinfo=timezone.utc)
    assert local(date(2026, 3, 7), 9) == datetime(2026, 3, 7, 14, tzinfo=timezone.utc)
    assert local(date(2026, 11, 1), 9) == datetime(2026, 11, 1, 14, tzinfo=timezone.utc)


def test_skipped_wall_clock_time_does_not_exist():
    """02:30 on 2026-03-08 never happened in New York; 01:30 on 2026-11-01 is its first pass."""
    assert booking.local_instant(date(2026, 3, 8), time(2, 30), NY) is None
    assert booking.local_instant(date(2026, 11, 1), time(1, 30), NY) == \
        datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)


def test_day_grid_on_spring_forward_day_skips_missing_times():
    """A clinic open 00:00-12:00 gets no candidate in the missing hour, and ends by closing."""
    open_early = rules(hours={6: (time(0), time(12))})
    grid = booking.day_grid(date(2026, 3, 8), open_early, FOUR_HOURS)
    walls = [booking.wall(booking.from_epoch(s), NY).time() for s, _ in grid]
    assert time(2, 0) not in walls and time(2, 30) not in walls
    assert all(booking.wall(booking.from_epoch(e), NY).time() <= time(12) for _, e in grid)
    assert walls[-1] == time(8, 0)


def test_fits_inside_opening_hours():
    """A block from opening is fine; one running past closing is refused with the hours."""
    assert check(local(MONDAY, 8)) is None
    assert check(local(MONDAY, 16, 20)) is None  # ends exactly at 18:00
    refusal = check(local(MONDAY, 16, 30))
    assert refusal.field == "start_at" and "outside opening hours (08:00 to 18:00)" in refusal.message
    assert "outside opening hours" in check(local(MONDAY, 7, 45)).message


def test_closed_weekday_and_closed_date():
    """Saturdays have no hours; a holiday is refused with its reason."""
    assert "closed on Saturdays" in check(local(date(2027, 1, 9), 9)).message
    refusal = check(local(MONDAY, 9), closed={MONDAY: "New Year"})
    assert "closed on Mon 4 Jan 2027 (New Year)" in refusal.message


def test_past_is_refused():
    """A start before now is refused."""
    refusal = booking.check_block(chair_id=1, start=local(MONDAY, 9), length=MAINTENANCE,
                                  patient_id=1, clinician_id=None, blocks=[], rules=rules(),
                                  now=local(MONDAY, 10))
    assert refusal.field == "start_at" and "past" in refusal.message


def test_chair_overlap_refused_touching_allowed():
    """Overlapping the same chair is refused; back-to-back blocks and other chairs are fine."""
    taken = [block(1, local(MONDAY, 9))]  # 09:00-10:40
    refusal = check(local(MONDAY, 10), blocks=taken)
    assert refusal.field == "chair_id" and "09:00 to 10:40" in refusal.message
    assert check(local(MONDAY, 10, 40), blocks=taken) is None
    assert check(local(MONDAY, 7, 20), blocks=taken, hours={0: (time(7), time(18))}) is None
    assert check(local(MONDAY, 10), chair=2, blocks=taken) is None


def test_patient_cannot_sit_in_two_chairs_at_once():
    """The same patient overlapping on another chair is refused."""
    refusal = check(local(MONDAY, 10), chair=2, patient=7, blocks=[block(1, local(MONDAY, 9), patient=7)])
    assert refusal.field == "start_at" and "already has an appointment" in refusal.message


def test_clinician_capacity_counts_infusion_time():
    """Two concurrent infusions fill a clinician with capacity 2; prep and recovery overlap is fine."""
    busy = [block(1, local(MONDAY, 9), clinician=5), block(2, local(MONDAY, 9), clinician=5)]
    refusal = check(local(MONDAY, 9, 15), chair=3, clinician=5, blocks=busy)
    assert refusal.field == "clinician_id" and "2 infusions" in refusal.message
    assert check(local(MONDAY, 9, 15), chair=3, clinician=6, blocks=busy) is None
    # Their infusions run 09:15-09:55; a new infusion from 09:55 (start 09:40) overlaps only recovery.
    assert check(local(MONDAY, 9, 40), chair=3, clinician=5, blocks=busy) is None


def test_over_capacity_finds_the_peak_inside_the_interval():
    """Three intervals that never all overlap do not exceed a limit of 3; a fourth on top does."""
    spans = [(0, 10), (5, 15), (12, 20)]
    assert not booking.over_capacity(0, 20, spans, 3)
    assert booking.over_capacity(6, 9, spans, 2)
    assert not booking.over_capacity(16, 30, spans, 2)


def test_find_slots_earliest_first_with_spacing():
    """An empty clinic proposes 08:00, 09:00, 10:00 on the first day, then the next day."""
    slots = booking.find_slots(days=[MONDAY, MONDAY + timedelta(days=1)], chairs=[1, 2], blocks=[],
                               rules=rules(), length=MAINTENANCE, patient_id=1, clinician_id=None,
                               now=EARLY, limit=4, per_day=3)
    walls = [booking.wall(s.start, NY) for s in slots]
    assert walls == [datetime(2027, 1, 4, 8), datetime(2027, 1, 4, 9), datetime(2027, 1, 4, 10),
                     datetime(2027, 1, 5, 8)]
    assert all(s.chair_id == 1 for s in slots)
    assert slots[0].end - slots[0].start == timedelta(minutes=100)


def test_find_slots_takes_the_first_free_chair_and_the_gaps():
    """Chair 1 busy all morning: chair 2 at 08:00; chair 2 busy all day: the gap after 09:40."""
    slots = booking.find_slots(days=[MONDAY], chairs=[1, 2], rules=rules(), length=MAINTENANCE,
                               blocks=[block(1, local(MONDAY, 8), minutes=240)], patient_id=1,
                               clinician_id=None, now=EARLY, per_day=1)
    assert [(s.chair_id, booking.wall(s.start, NY).time()) for s in slots] == [(2, time(8))]
    taken = [block(1, local(MONDAY, 8)), block(2, local(MONDAY, 8), minutes=600)]
    slots = booking.find_slots(days=[MONDAY], chairs=[1, 2], blocks=taken, rules=rules(),
                               length=MAINTENANCE, patient_id=1, clinician_id=None, now=EARLY,
                               per_day=2, spacing_min=15)
    assert [(s.chair_id, booking.wall(s.start, NY).time()) for s in slots] == [(1, time(9, 45)), (1, time(10))]


def test_find_slots_skips_full_days_closed_dates_past_and_patient_days():
    """Nothing on a fully booked day, a closed date, a day the patient is booked, or before now."""
    tuesday, wednesday, thursday = (MONDAY + timedelta(days=n) for n in (1, 2, 3))
    blocks = [block(1, local(MONDAY, 8), minutes=600), block(1, local(wednesday, 8), patient=1)]

    def first(now):
        slots = booking.find_slots(days=[MONDAY, tuesday, wednesday, thursday], chairs=[1],
                                   blocks=blocks, rules=rules(closed={tuesday: ""}),
                                   length=MAINTENANCE, patient_id=1, clinician_id=None, now=now,
                                   per_day=1)
        return booking.wall(slots[0].start, NY)

    assert first(EARLY) == datetime(2027, 1, 7, 8)
    assert first(local(thursday, 11, 50)) == datetime(2027, 1, 7, 12)


def test_find_slots_respects_clinician_capacity():
    """With the clinician at capacity all morning, the first proposal is after those infusions."""
    busy = [block(1, local(MONDAY, 8), clinician=5, prep=0, infusion=240, minutes=240),
            block(2, local(MONDAY, 8), clinician=5, prep=0, infusion=240, minutes=240)]
    slots = booking.find_slots(days=[MONDAY], chairs=[1, 2, 3], blocks=busy, rules=rules(),
                               length=MAINTENANCE, patient_id=1, clinician_id=5, now=EARLY, per_day=1)
    # Infusion starts 15 minutes into the block: the block may start at 11:45.
    assert booking.wall(slots[0].start, NY).time() == time(11, 45)
    assert slots[0].chair_id == 3


def test_series_days_on_weekdays_skipping_closed_dates():
    """Six Mon/Wed/Fri sessions from 2026-03-02, with 2026-03-06 closed, end on 2026-03-16."""
    days, skipped = booking.series_days(date(2026, 3, 2), [0, 2, 4], 6, {date(2026, 3, 6): "training"})
    assert days == [date(2026, 3, d) for d in (2, 4, 9, 11, 13, 16)]
    assert skipped == [date(2026, 3, 6)]


def test_refusals_follow_the_clinic_date_and_clock_styles():
    """A refusal writes its day and times as the clinic's pages do (long dates, 12-hour clock)."""
    clinic = rules(closed={date(2027, 1, 4): "New Year"}, date_style="long", time_style="12h")
    closed = booking.opening_refusal(local(date(2027, 1, 4), 9), local(date(2027, 1, 4), 10), clinic)
    assert closed.message == "The clinic is closed on Monday 4 January 2027 (New Year)."
    late = booking.opening_refusal(local(date(2027, 1, 5), 17), local(date(2027, 1, 5), 19), clinic)
    assert late.message == "The block 5:00 pm to 7:00 pm is outside opening hours (8:00 am to 6:00 pm)."
