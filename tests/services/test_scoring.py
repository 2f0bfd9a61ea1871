"""Scores (DESIGN §5): the 5-point mapping, N/A left out, the policy total, one method everywhere."""
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.models import Question
from portal.services.answers import NA, parse_answers
from portal.services.scales import SHIPPED_SCALES, build_scale
from portal.services.scoring import (TOP_TWO_BOX, fmt_rate, fmt_score, mean_or_none, normalize,
                                     response_score, satisfaction_total, summarize)

SCALES = {code: (lo, hi, [v for v, *_ in options]) for code, _, _, _, lo, hi, options in SHIPPED_SCALES}
POINTS = {code: [p for *_, p in options] for code, *_, options in SHIPPED_SCALES}
FIVE_LABEL = [code for code, (_, _, values) in SCALES.items() if len(values) == 5]
finite = dict(allow_nan=False, allow_infinity=False)
scores = st.floats(min_value=1, max_value=5, **finite)


def _version(*questions):
    return SimpleNamespace(questions=list(questions))


def _question(code, scale_code, allow_na=False, required=True):
    qtype = "yes_no" if scale_code == "yes_no" else "scale"
    return Question(code=code, text=code, type=qtype, scale=build_scale(scale_code), allow_na=allow_na,
                    required=required, position=0)


# --- normalization ----------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(SCALES))
def test_every_shipped_scale_maps_its_ends_to_1_and_5(code):
    lo, hi, _ = SCALES[code]
    assert normalize(lo, lo, hi) == 1
    assert normalize(hi, lo, hi) == 5


@pytest.mark.parametrize("code", [c for c in sorted(SCALES) if SCALES[c][2]])
def test_labelled_options_map_inside_1_to_5_best_first(code):
    mapped = POINTS[code]
    assert mapped == sorted(mapped, reverse=True)  # options are listed best first
    assert mapped[0] == 5
    assert all(1 <= m <= 5 for m in mapped)


@pytest.mark.parametrize("code", FIVE_LABEL)
def test_five_label_scales_keep_their_raw_values(code):
    lo, hi, values = SCALES[code]
    assert POINTS[code] == [normalize(v, lo, hi) for v in values] == [5, 4, 3, 2, 1]


def test_labelled_answers_score_their_options_value_not_the_linear_map():
    """The 4-label set: 满意 (raw 3 of 1–4) is 4, where linear would give 3.67."""
    parsed = parse_answers(_version(_question("a", "sat4")), {"q_a": "3"}, complete=True)
    assert parsed.values["a"].normalized == 4 and parsed.score == 4
    assert normalize(3, 1, 4) == pytest.approx(11 / 3)


def test_known_values_of_other_scales():
    assert normalize(10, 1, 10) == 5
    assert normalize(5.5, 1, 10) == pytest.approx(3)
    assert normalize(75, 0, 100) == 4
    assert normalize(2, 1, 3) == 3
    assert normalize(0, 0, 1) == 1 and normalize(1, 0, 1) == 5


def test_outside_the_scale_or_a_degenerate_scale_is_refused():
    with pytest.raises(ValueError):
        normalize(11, 1, 10)
    with pytest.raises(ValueError):
        normalize(-0.5, 0, 100)
    with pytest.raises(ValueError):
        normalize(3, 3, 3)


@given(code=st.sampled_from(sorted(SCALES)), data=st.data())
def test_order_is_preserved_on_every_scale(code, data):
    lo, hi, _ = SCALES[code]
    a = data.draw(st.floats(min_value=lo, max_value=hi, **finite))
    b = data.draw(st.floats(min_value=lo, max_value=hi, **finite))
    if a <= b:
        assert normalize(a, lo, hi) <= normalize(b, lo, hi)
    else:
        assert normalize(a, lo, hi) >= normalize(b, lo, hi)


@given(code=st.sampled_from(sorted(SCALES)), t=st.floats(min_value=0, max_value=1, **finite))
def test_mapping_is_linear(code, t):
    """The point a share t of the way from lo to hi lands the same share of the way from 1 to 5."""
    lo, hi, _ = SCALES[code]
    raw = lo + t * (hi - lo)
    assert normalize(raw, lo, hi) == pytest.approx(1 + 4 * t, abs=1e-9)


@given(lo=st.floats(min_value=-1000, max_value=1000, **finite),
       width=st.floats(min_value=0.5, max_value=1000, **finite),
       t=st.floats(min_value=0, max_value=1, **finite), u=st.floats(min_value=0, max_value=1, **finite))
def test_any_scale_maps_into_1_to_5_and_the_midpoint_to_3(lo, width, t, u):
    hi = lo + width
    value = normalize(min(hi, lo + t * width), lo, hi)
    assert 1 - 1e-9 <= value <= 5 + 1e-9
    assert normalize(lo + width / 2, lo, hi) == pytest.approx(3)
    # equal steps in raw give equal steps on the 5-point scale
    a, b = sorted((t, u))
    step = normalize(min(hi, lo + b * width), lo, hi) - normalize(min(hi, lo + a * width), lo, hi)
    assert step == pytest.approx(4 * (min(hi, lo + b * width) - min(hi, lo + a * width)) / width, abs=1e-6)


# --- N/A is never counted ---------------------------------------------------------------------

@given(st.lists(st.one_of(st.none(), scores), max_size=12))
def test_none_answers_never_change_a_response_score(values):
    present = [v for v in values if v is not None]
    expected = sum(present) / len(present) if present else None
    result = response_score(values)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)
        assert result == pytest.approx(response_score(present))


def test_only_na_answers_give_no_score_not_zero():
    assert response_score([None, None]) is None
    assert mean_or_none([]) is None
    assert summarize([None, None]).score is None


@given(answers=st.lists(st.tuples(st.sampled_from(["sat5_a", "sat5_b", "sat4", "points10", "three3",
                                                    "yes_no"]),
                                  st.integers(min_value=0, max_value=9)),
                        min_size=1, max_size=8),
       na_count=st.integers(min_value=1, max_value=4))
def test_na_answers_in_a_parsed_form_leave_its_score_unchanged(answers, na_count):
    scored = []
    data = {}
    for i, (code, pick) in enumerate(answers):
        question = _question(f"s{i}", code)
        values = [o.value for o in question.scale.options]
        data[f"q_s{i}"] = f"{values[pick % len(values)]:g}"
        scored.append(question)
    na_questions = [_question(f"n{i}", "sat5_a", allow_na=True) for i in range(na_count)]
    without = parse_answers(_version(*scored), data, complete=True)
    with_na = parse_answers(_version(*scored, *na_questions),
                            {**data, **{f"q_n{i}": NA for i in range(na_count)}}, complete=True)
    assert without.ok and with_na.ok, (without.errors, with_na.errors)
    assert all(with_na.values[f"n{i}"].is_na and with_na.values[f"n{i}"].normalized is None
               for i in range(na_count))
    assert with_na.score == pytest.approx(without.score)


def test_na_is_refused_where_not_offered():
    parsed = parse_answers(_version(_question("a", "sat5_a")), {"q_a": NA}, complete=True)
    assert "a" in parsed.errors


def test_parsed_score_is_the_mean_of_normalized_answers():
    version = _version(_question("a", "sat5_a"), _question("b", "points10"),
                       _question("c", "yes_no", allow_na=True))
    parsed = parse_answers(version, {"q_a": "4", "q_b": "10", "q_c": "na"}, complete=True)
    assert parsed.score == pytest.approx((4 + 5) / 2)


# --- the policy total -------------------------------------------------------------------------

def test_satisfaction_total_weighs_options_5_to_1():
    assert satisfaction_total([10, 6, 3, 1, 0]) == 5 * 10 + 4 * 6 + 3 * 3 + 2 * 1
    assert satisfaction_total([0, 0, 0, 0, 0]) == 0
    with pytest.raises(ValueError):
        satisfaction_total([1, 2, 3])


@given(counts=st.lists(st.integers(min_value=0, max_value=200), min_size=5, max_size=5),
       code=st.sampled_from(FIVE_LABEL))
def test_total_equals_the_sum_of_normalized_answers_and_score_is_total_over_n(counts, code):
    """For a five-label question: 5×n1 + 4×n2 + … is the sum of the answers on the 5-point scale,
    and the satisfaction score is that total divided by the number of answers."""
    answers = [p for p, n in zip(POINTS[code], counts) for _ in range(n)]
    total = satisfaction_total(counts)
    assert sum(answers) == pytest.approx(total)
    summary = summarize(answers)  # one question: each response contributes its one answer
    assert summary.responses == sum(counts)
    assert summary.total == pytest.approx(total)
    if answers:
        assert summary.score == pytest.approx(total / len(answers))
        assert summary.satisfaction_rate == pytest.approx((counts[0] + counts[1]) / len(answers))


# --- summarize: one method for any group ------------------------------------------------------

def test_each_response_weighs_the_same_whatever_its_number_of_answers():
    long_form = response_score([5, 5, 5, 5, 5, 5, 5, 5])
    short_form = response_score([1])
    summary = summarize([long_form, short_form])
    assert summary.score == 3  # not (8×5 + 1) / 9
    assert summary.satisfaction_rate == 0.5


def test_rate_counts_responses_at_or_above_4():
    summary = summarize([4.0, 3.9999, 5, 2, None])
    assert summary.responses == 4
    assert summary.satisfaction_rate == 0.5
    assert TOP_TWO_BOX == 4


@given(st.lists(st.one_of(st.none(), scores), max_size=30))
def test_summary_is_the_plain_mean_and_share_of_response_scores(values):
    present = [v for v in values if v is not None]
    summary = summarize(values)
    assert summary.responses == len(present)
    if not present:
        assert summary.score is None and summary.satisfaction_rate is None and summary.total == 0
        return
    assert summary.score == pytest.approx(sum(present) / len(present))
    assert summary.satisfaction_rate == sum(v >= 4 for v in present) / len(present)
    assert min(present) - 1e-9 <= summary.score <= max(present) + 1e-9


@given(st.lists(scores, min_size=1, max_size=20), st.lists(scores, min_size=1, max_size=20))
def test_a_group_score_is_the_response_weighted_mean_of_its_parts(a, b):
    """Merging two groups equals weighting each part by its number of responses."""
    sa, sb, merged = summarize(a), summarize(b), summarize(a + b)
    expected = (sa.score * sa.responses + sb.score * sb.responses) / (sa.responses + sb.responses)
    assert merged.score == pytest.approx(expected)


def test_no_rounding_before_aggregation():
    """Three responses of 3.335: rounding each first (3.34) would give 3.34; the true mean is 3.335."""
    summary = summarize([response_score([3.33, 3.34])] * 3)
    assert summary.score == pytest.approx(3.335, abs=1e-12)
    assert summarize([3.996, 3.996]).satisfaction_rate == 0  # not rounded up to 4.00 first
    assert fmt_score(summary.score) in ("3.33", "3.34")  # rounding happens only for display


def test_display_formats():
    assert fmt_score(4.456) == "4.46"
    assert fmt_score(None) == "–"
    assert fmt_rate(2 / 3) == "66.7%"
    assert fmt_rate(1) == "100.0%"
    assert fmt_rate(None) == "–"
