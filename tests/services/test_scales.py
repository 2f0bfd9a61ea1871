"""Scales map by label where the policy means a label (DESIGN §5): 满意 is satisfied on every
labelled scale, numeric scales stay linear, and an option's 5-point value never changes."""
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.models import Question, Scale, ScaleOption
from portal.services.answers import NA, parse_answers
from portal.services.scales import SHIPPED_SCALES, build_scale, ensure_shipped_scales
from portal.services.scoring import TOP_TWO_BOX, normalize

LABELLED_SATISFACTION = ("sat4", "sat5_a", "sat5_b")


def _question(code, scale_code, allow_na=False):
    qtype = "yes_no" if scale_code == "yes_no" else "scale"
    return Question(code=code, text=code, type=qtype, scale=build_scale(scale_code),
                    allow_na=allow_na, required=True, position=0)


def _answer(scale_code, raw, allow_na=False):
    """The normalized value of one answer ``raw`` to a question on ``scale_code``."""
    question = _question("q", scale_code, allow_na)
    parsed = parse_answers(SimpleNamespace(questions=[question]), {"q_q": raw}, complete=True)
    assert parsed.ok, parsed.errors
    return parsed.values["q"].normalized


def _raw_of(scale_code, label_zh):
    scale = build_scale(scale_code)
    return f"{next(o.value for o in scale.options if o.label_zh == label_zh):g}"


# --- by label ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code", LABELLED_SATISFACTION)
def test_satisfied_counts_as_satisfied_on_every_labelled_scale(code):
    assert _answer(code, _raw_of(code, "满意")) >= TOP_TWO_BOX


@pytest.mark.parametrize("code", LABELLED_SATISFACTION)
def test_a_label_has_the_same_value_on_every_scale_that_has_it(code):
    """满意 is 4 unless it is the top label (sat5_a); 一般 is 3; 很不满意 is 1."""
    values = {o.label_zh: o.points for o in build_scale(code).options}
    assert values["一般"] == 3
    assert values["满意"] == (5 if code == "sat5_a" else 4)
    assert values.get("很不满意", 1) == 1


def test_the_four_label_set_maps_5_4_3_2():
    scale = build_scale("sat4")
    assert [(o.label_zh, o.label_en, o.points) for o in scale.options] == [
        ("非常满意", "Very satisfied", 5), ("满意", "Satisfied", 4), ("一般", "Neutral", 3),
        ("不满意", "Dissatisfied", 2)]
    assert [_answer("sat4", f"{o.value:g}") for o in scale.options] == [5, 4, 3, 2]
    # linear would have put 满意 below the satisfied line
    assert normalize(3, scale.lo, scale.hi) < TOP_TWO_BOX


@pytest.mark.parametrize("code", ["sat5_a", "sat5_b"])
def test_the_policys_five_label_sets_map_5_to_1_as_before(code):
    scale = build_scale(code)
    assert [o.points for o in scale.options] == [5, 4, 3, 2, 1]
    assert [o.points for o in scale.options] == [normalize(o.value, scale.lo, scale.hi)
                                                 for o in scale.options]


@pytest.mark.parametrize("code", ["points10", "three3", "yes_no"])
def test_other_labelled_scales_default_to_the_linear_map_of_their_raw_values(code):
    scale = build_scale(code)
    assert [o.points for o in scale.options] == [normalize(o.value, scale.lo, scale.hi)
                                                 for o in scale.options]
    assert scale.options[0].points == 5 and scale.options[-1].points == 1


def test_yes_is_5_and_no_is_1():
    assert (_answer("yes_no", "1"), _answer("yes_no", "0")) == (5, 1)


def test_every_labelled_option_is_on_the_5_point_scale_best_first():
    for code, *_ in SHIPPED_SCALES:
        points = [o.points for o in build_scale(code).options]
        assert points == sorted(points, reverse=True), code
        assert all(1 <= p <= 5 for p in points), code


# --- numeric, N/A -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [("0", 1), ("50", 3), ("75", 4), ("100", 5), ("87.5", 4.5)])
def test_numeric_0_to_100_stays_linear(raw, expected):
    assert _answer("score100", raw) == pytest.approx(expected)


@pytest.mark.parametrize("code", LABELLED_SATISFACTION + ("score100",))
def test_not_applicable_is_excluded_not_counted(code):
    scored = _question("a", "sat4")
    na = _question("b", code, allow_na=True)
    parsed = parse_answers(SimpleNamespace(questions=[scored, na]), {"q_a": "3", "q_b": NA},
                           complete=True)
    assert parsed.ok and parsed.values["b"].is_na and parsed.values["b"].normalized is None
    assert parsed.score == 4  # 满意 alone, not (4 + 0) / 2


def test_a_raw_value_that_is_no_option_is_refused():
    question = _question("q", "sat4")
    parsed = parse_answers(SimpleNamespace(questions=[question]), {"q_q": "5"}, complete=True)
    assert "q" in parsed.errors


# --- stored scales ----------------------------------------------------------------------------

def test_ensure_shipped_scales_adds_the_four_label_set_to_an_existing_database(db):
    ensure_shipped_scales()
    db.session.delete(db.session.scalar(select(Scale).where(Scale.code == "sat4")))
    db.session.commit()
    scales = ensure_shipped_scales()
    db.session.commit()
    assert [o.points for o in scales["sat4"].options] == [5, 4, 3, 2]
    assert set(db.session.scalars(select(Scale.code))) == {code for code, *_ in SHIPPED_SCALES}


def test_ensure_shipped_scales_never_changes_an_existing_option(db):
    """Options are shared by template versions, answered ones frozen: their values stay."""
    ensure_shipped_scales()
    option = db.session.scalar(select(ScaleOption).join(Scale).where(
        Scale.code == "points10", ScaleOption.value == 7))
    option.points = 4.0  # as if stored by an earlier definition of the scale
    db.session.commit()
    ensure_shipped_scales()
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ScaleOption, option.id).points == 4.0


def test_the_editor_shows_the_5_point_value_of_every_option(make, auth, client, db):
    make.user("q1", roles=("quality",))
    auth.login("q1")
    version = make.template_version(questions=[
        dict(code="overall", text="总体评价", type="scale", scale="sat4", dimension="overall"),
        dict(code="nps", text="推荐程度", type="scale", scale="points10"),
        dict(code="score", text="打分", type="scale", scale="score100"),
        dict(code="again", text="再次合作", type="yes_no", scale="yes_no")])
    html = client.get(f"/questionnaires/versions/{version.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", html)
    assert "非常满意 → 5 · 满意 → 4 · 一般 → 3 · 不满意 → 2" in text
    assert "10 → 5 · 9 → 4.56 · 8 → 4.11 · 7 → 3.67" in text
    assert "是 → 5 · 否 → 1" in text
    assert "0–100 maps linearly onto 1–5" in text
