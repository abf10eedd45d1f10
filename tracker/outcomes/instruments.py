"""The outcome instruments as published: items, answer scales, scoring and severity bands.

Pure: answers in, a score out. A missing answer makes the measure incomplete (no score, no
band): nothing is imputed, whatever the instrument's manual allows for a pro-rated score.

Sources:
- Pain NRS: an 11-point numeric rating scale, 0 = no pain, 10 = worst pain imaginable; bands
  1-3 mild, 4-6 moderate, 7-10 severe (Serlin RC et al., Pain 1995;61:277-284).
- PEG: Krebs EE et al., "Development and initial validation of the PEG, a three-item scale
  assessing pain intensity and interference", J Gen Intern Med 2009;24:733-738. The score is
  the mean of the three 0-10 items; no severity bands are published.
- PHQ-9: Kroenke K, Spitzer RL, Williams JB, J Gen Intern Med 2001;16:606-613. Nine items 0-3,
  total 0-27; 5, 10, 15 and 20 mark mild, moderate, moderately severe and severe.
- GAD-7: Spitzer RL, Kroenke K, Williams JB, Lowe B, Arch Intern Med 2006;166:1092-1097.
  Seven items 0-3, total 0-21; 5, 10 and 15 mark mild, moderate and severe.
- CADSS-6: Rodrigues NB, McIntyre RS, Lipsitz O, et al., "A simplified 6-item clinician
  administered dissociative symptom scale (CADSS-6) for monitoring dissociative effects of
  sub-anesthetic ketamine infusions", J Affect Disord 2021;282:160-164
  (https://research.regionh.dk/en/publications/a-simplified-6item-clinician-administered-dissociative-symptom-scale-cadss6-for-monitoring-dissociative-effects-of-subanesthetic-ketamine-infusions(cb68f3b9-c413-4e4f-8722-2724ab9b983e).html).
  Items 1, 2, 6, 7, 15 and 22 of the 23-item CADSS (Bremner JD et al., J Trauma Stress
  1998;11:125-136), each rated 0 (not at all) to 4 (extremely); the total is their sum, 0-24.
  No severity bands are published.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")
OVER_TWO_WEEKS = (
    "Over the last 2 weeks, how often have you been bothered by the following problems?"
)
CADSS_SCALE = ("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")


@dataclass(frozen=True)
class Band:
    """A named range of scores, both ends inclusive."""

    low: Decimal
    high: Decimal
    label: str


@dataclass(frozen=True)
class Instrument:
    """One published instrument."""

    code: str
    name: str
    items: tuple[str, ...]
    answers: tuple[str, ...]  # labels of the answer values 0..n (empty: a 0-10 number scale)
    item_max: int
    mean: bool  # the score is the mean of the items (PEG), else their sum
    bands: tuple[Band, ...]
    # An item whose any positive answer a clinician must see (PHQ-9 item 9), 0-based.
    attention_item: int | None = None
    stem: str = ""  # the question the items answer, as the instrument asks it

    @property
    def score_max(self) -> int:
        return self.item_max if self.mean else self.item_max * len(self.items)


def _bands(*edges: tuple[int, int, str]) -> tuple[Band, ...]:
    return tuple(Band(Decimal(low), Decimal(high), label) for low, high, label in edges)


INSTRUMENTS: dict[str, Instrument] = {
    "pain_nrs": Instrument(
        "pain_nrs",
        "Pain (NRS 0-10)",
        ("Pain right now, from 0 (no pain) to 10 (worst imaginable)",),
        (),
        10,
        False,
        _bands((0, 0, "No pain"), (1, 3, "Mild"), (4, 6, "Moderate"), (7, 10, "Severe")),
    ),
    "peg": Instrument(
        "peg",
        "PEG (pain, enjoyment, general activity)",
        (
            "Pain on average in the past week (0 no pain, 10 as bad as you can imagine)",
            "How much pain has interfered with enjoyment of life in the past week (0-10)",
            "How much pain has interfered with general activity in the past week (0-10)",
        ),
        (),
        10,
        True,
        (),
    ),
    "phq9": Instrument(
        "phq9",
        "PHQ-9 (depression)",
        (
            "Little interest or pleasure in doing things",
            "Feeling down, depressed, or hopeless",
            "Trouble falling or staying asleep, or sleeping too much",
            "Feeling tired or having little energy",
            "Poor appetite or overeating",
            "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
            "Trouble concentrating on things",
            "Moving or speaking so slowly that others could have noticed, or being fidgety or restless",
            "Thoughts that you would be better off dead, or of hurting yourself",
        ),
        FREQUENCY,
        3,
        False,
        _bands(
            (0, 4, "Minimal"),
            (5, 9, "Mild"),
            (10, 14, "Moderate"),
            (15, 19, "Moderately severe"),
            (20, 27, "Severe"),
        ),
        attention_item=8,
        stem=OVER_TWO_WEEKS,
    ),
    "gad7": Instrument(
        "gad7",
        "GAD-7 (anxiety)",
        (
            "Feeling nervous, anxious, or on edge",
            "Not being able to stop or control worrying",
            "Worrying too much about different things",
            "Trouble relaxing",
            "Being so restless that it is hard to sit still",
            "Becoming easily annoyed or irritable",
            "Feeling afraid, as if something awful might happen",
        ),
        FREQUENCY,
        3,
        False,
        _bands((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")),
        stem=OVER_TWO_WEEKS,
    ),
    "cadss6": Instrument(
        "cadss6",
        "CADSS-6 (dissociation, in the chair)",
        (
            "Item 1: things seem to move in slow motion",
            "Item 2: things seem unreal, as if in a dream",
            "Item 6: feels disconnected from own body",
            "Item 7: sense of own body feels changed",
            "Item 15: spaces out or loses track of what is going on",
            "Item 22 (observer-rated)",
        ),
        CADSS_SCALE,
        4,
        False,
        (),
        stem="At this time, in this room (items 1-15 asked of the patient; item 22 rated by the clinician)",
    ),
}


@dataclass(frozen=True)
class Score:
    """What a set of answers gives: the score and band when complete, else the missing items."""

    complete: bool
    score: Decimal | None
    band: str | None
    missing: tuple[int, ...]  # 1-based item numbers left unanswered
    attention: bool = False  # the attention item was answered above 0


def score_text(value: Decimal) -> str:
    """A score as people write it: 16, 6.33, 10 (never 16.00 or 1E+1)."""
    return f"{value.normalize():f}"


def answer_problem(instrument: Instrument, answers: list) -> str | None:
    """Why these answers cannot be stored (a wrong count, a value off the scale), or None."""
    if len(answers) != len(instrument.items):
        return f"{instrument.name} has {len(instrument.items)} items."
    for number, answer in enumerate(answers, start=1):
        if answer is None:
            continue
        if (
            isinstance(answer, bool)
            or not isinstance(answer, int)
            or not 0 <= answer <= instrument.item_max
        ):
            return f"Item {number}: answer from 0 to {instrument.item_max}."
    return None


def band_for(instrument: Instrument, score: Decimal) -> str | None:
    """The band the score falls in, or None when the instrument publishes none."""
    return next((band.label for band in instrument.bands if band.low <= score <= band.high), None)


def score(instrument: Instrument, answers: list) -> Score:
    """Score the answers as published; incomplete (no score, no band) when any is missing."""
    problem = answer_problem(instrument, answers)
    if problem:
        raise ValueError(problem)
    missing = tuple(n for n, answer in enumerate(answers, start=1) if answer is None)
    attention = (
        instrument.attention_item is not None and (answers[instrument.attention_item] or 0) > 0
    )
    if missing:
        return Score(False, None, None, missing, attention)
    total = Decimal(sum(answers))
    if instrument.mean:
        total = (total / len(answers)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return Score(True, total, band_for(instrument, total), (), attention)
