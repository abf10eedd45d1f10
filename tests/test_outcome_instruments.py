"""Scoring of the outcome instruments against their published scoring and bands."""

from decimal import Decimal

import pytest

from tracker.outcomes.instruments import INSTRUMENTS, answer_problem, score, score_text

PHQ9, GAD7, PEG, NRS, CADSS6 = (
    INSTRUMENTS[c] for c in ("phq9", "gad7", "peg", "pain_nrs", "cadss6")
)


def _phq9(total: int) -> list[int]:
    """Nine PHQ-9 answers (0-3) adding up to `total`, item 9 left at 0."""
    answers = [0] * 9
    for n in range(total):
        answers[n % 8] += 1
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (24, "Severe"),
    ],
)
def test_phq9_bands_kroenke_2001(total, band):
    """PHQ-9: the sum of nine 0-3 items; 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately
    severe, 20-27 severe (each edge on both sides)."""
    result = score(PHQ9, _phq9(total))
    assert (result.complete, result.score, result.band) == (True, Decimal(total), band)


def test_phq9_all_items_at_most_is_27_severe_and_item_9_is_raised():
    """Every item 'nearly every day' scores 27, severe; a positive item 9 is raised for the clinician."""
    result = score(PHQ9, [3] * 9)
    assert (result.score, result.band, result.attention) == (Decimal(27), "Severe", True)
    assert score(PHQ9, [1] * 8 + [0]).attention is False


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([0] * 7, 0, "Minimal"),
        ([1, 1, 1, 1, 0, 0, 0], 4, "Minimal"),
        ([1, 1, 1, 1, 1, 0, 0], 5, "Mild"),
        ([2, 2, 2, 1, 1, 1, 0], 9, "Mild"),
        ([2, 2, 2, 2, 1, 1, 0], 10, "Moderate"),
        ([2, 2, 2, 2, 2, 2, 2], 14, "Moderate"),
        ([3, 3, 3, 2, 2, 1, 1], 15, "Severe"),
        ([3] * 7, 21, "Severe"),
    ],
)
def test_gad7_bands_spitzer_2006(answers, total, band):
    """GAD-7: the sum of seven 0-3 items; 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe."""
    result = score(GAD7, answers)
    assert (result.score, result.band) == (Decimal(total), band)


@pytest.mark.parametrize(
    ("answers", "mean"),
    [
        ([7, 5, 6], "6.00"),
        ([7, 6, 6], "6.33"),
        ([10, 10, 9], "9.67"),
        ([0, 0, 0], "0.00"),
        ([10, 10, 10], "10.00"),
    ],
)
def test_peg_is_the_mean_of_its_three_items_krebs_2009(answers, mean):
    """PEG: the mean of pain, enjoyment and general activity (each 0-10), to two places; no bands."""
    result = score(PEG, answers)
    assert (result.score, result.band) == (Decimal(mean), None)


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0, "No pain"),
        (1, "Mild"),
        (3, "Mild"),
        (4, "Moderate"),
        (6, "Moderate"),
        (7, "Severe"),
        (10, "Severe"),
    ],
)
def test_pain_nrs_bands(value, band):
    """Pain NRS 0-10: 1-3 mild, 4-6 moderate, 7-10 severe."""
    assert score(NRS, [value]).band == band


def test_cadss6_sums_six_items_rated_0_to_4():
    """CADSS-6: six CADSS items, each 0-4, summed (0-24); no published bands."""
    assert score(CADSS6, [0, 1, 2, 3, 4, 2]).score == Decimal(12)
    assert score(CADSS6, [4] * 6).score == Decimal(24)
    assert score(CADSS6, [4] * 6).band is None


@pytest.mark.parametrize("code", sorted(INSTRUMENTS))
def test_a_missing_item_is_incomplete_never_guessed(code):
    """Any unanswered item leaves no score and no band, whatever the others say."""
    instrument = INSTRUMENTS[code]
    for missing in range(len(instrument.items)):
        answers = [instrument.item_max] * len(instrument.items)
        answers[missing] = None
        result = score(instrument, answers)
        assert (result.complete, result.score, result.band, result.missing) == (
            False,
            None,
            None,
            (missing + 1,),
        )


@pytest.mark.parametrize(
    ("code", "answers", "problem"),
    [
        ("phq9", [0] * 8, "has 9 items"),
        ("gad7", [4] + [0] * 6, "Item 1: answer from 0 to 3"),
        ("peg", [11, 0, 0], "Item 1: answer from 0 to 10"),
        ("cadss6", [0, 0, -1, 0, 0, 0], "Item 3"),
        ("pain_nrs", [True], "Item 1"),
        ("pain_nrs", ["5"], "Item 1"),
    ],
)
def test_answers_off_the_scale_are_refused(code, answers, problem):
    """A wrong number of answers or a value off the item's scale is refused, not scored."""
    assert problem in answer_problem(INSTRUMENTS[code], answers)
    with pytest.raises(ValueError):
        score(INSTRUMENTS[code], answers)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("10.00", "10"), ("20.00", "20"), ("6.33", "6.33"), ("6.30", "6.3"), ("0.00", "0")],
)
def test_scores_are_written_as_people_write_them(stored, shown):
    """A stored score reads 10, not 10.00 or 1E+1."""
    assert score_text(Decimal(stored)) == shown
