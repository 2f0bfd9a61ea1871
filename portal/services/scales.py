"""The shipped scales (DESIGN §2, §5). Label sets list options best first.

Each option carries its 5-point value (``points``). The satisfaction label sets map by
label, so 满意 counts as satisfied (4 or more) on every scale that has it; the other
labelled scales (10 points, 3 levels, yes/no) default to the linear map of their raw
values; numeric scales map each answer linearly (``scoring.normalize``). Points are
fixed when a scale is created: scales are shared by template versions, and answered
versions are frozen, so nothing here (or anywhere else) changes an existing option.
"""
from sqlalchemy import select

from ..extensions import db
from ..models import Scale, ScaleOption
from .scoring import normalize


def _linear(lo, hi, options):
    """Options (value, zh, en) with the default 5-point value: the linear map of the raw value."""
    return [(v, zh, en, normalize(v, lo, hi)) for v, zh, en in options]


SHIPPED_SCALES = [
    # code, name_zh, name_en, style, lo, hi, options [(value, zh, en, points)] best first
    ("sat5_a", "满意度五级（满意…很不满意）", "Satisfaction, 5 levels (A)", "labels", 1, 5,
     [(5, "满意", "Satisfied", 5), (4, "较满意", "Fairly satisfied", 4), (3, "一般", "Neutral", 3),
      (2, "不太满意", "Not very satisfied", 2), (1, "很不满意", "Very dissatisfied", 1)]),
    ("sat5_b", "满意度五级（很满意…很不满意）", "Satisfaction, 5 levels (B)", "labels", 1, 5,
     [(5, "很满意", "Very satisfied", 5), (4, "满意", "Satisfied", 4), (3, "一般", "Neutral", 3),
      (2, "不满意", "Dissatisfied", 2), (1, "很不满意", "Very dissatisfied", 1)]),
    # by label, as in the policy's sets (linear would put 满意 at 3.67, below "satisfied")
    ("sat4", "满意度四级（非常满意…不满意）", "Satisfaction, 4 levels", "labels", 1, 4,
     [(4, "非常满意", "Very satisfied", 5), (3, "满意", "Satisfied", 4), (2, "一般", "Neutral", 3),
      (1, "不满意", "Dissatisfied", 2)]),
    ("points10", "十分制", "10 points", "labels", 1, 10,
     _linear(1, 10, [(v, str(v), str(v)) for v in range(10, 0, -1)])),
    ("score100", "百分制（0–100）", "Score 0–100", "numeric", 0, 100, []),
    ("three3", "三级（好/一般/差）", "3 levels (good/fair/poor)", "labels", 1, 3,
     _linear(1, 3, [(3, "好", "Good"), (2, "一般", "Fair"), (1, "差", "Poor")])),
    ("yes_no", "是/否", "Yes / no", "labels", 0, 1, _linear(0, 1, [(1, "是", "Yes"), (0, "否", "No")])),
]


def build_scale(code) -> Scale:
    """The shipped scale ``code`` as a new, unsaved Scale with its options."""
    _, zh, en, style, lo, hi, options = next(s for s in SHIPPED_SCALES if s[0] == code)
    return Scale(code=code, name_zh=zh, name_en=en, style=style, lo=lo, hi=hi,
                 options=[ScaleOption(position=i, value=v, label_zh=lz, label_en=le, points=p)
                          for i, (v, lz, le, p) in enumerate(options)])


def ensure_shipped_scales():
    """Create the shipped scales that are missing (existing ones are left exactly as they are);
    return them by code."""
    existing = {s.code: s for s in db.session.scalars(select(Scale))}
    for code, *_ in SHIPPED_SCALES:
        if code not in existing:
            existing[code] = build_scale(code)
            db.session.add(existing[code])
    db.session.flush()
    return existing


def option_label(option, language):
    return option.label_zh if language == "zh" else option.label_en
