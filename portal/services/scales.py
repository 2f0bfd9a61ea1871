"""The shipped scales (DESIGN §2, §5). Label sets list options best first."""
from sqlalchemy import select

from ..extensions import db
from ..models import Scale, ScaleOption

SHIPPED_SCALES = [
    # code, name_zh, name_en, style, lo, hi, options [(value, zh, en)] best first
    ("sat5_a", "满意度五级（满意…很不满意）", "Satisfaction, 5 levels (A)", "labels", 1, 5,
     [(5, "满意", "Satisfied"), (4, "较满意", "Fairly satisfied"), (3, "一般", "Neutral"),
      (2, "不太满意", "Not very satisfied"), (1, "很不满意", "Very dissatisfied")]),
    ("sat5_b", "满意度五级（很满意…很不满意）", "Satisfaction, 5 levels (B)", "labels", 1, 5,
     [(5, "很满意", "Very satisfied"), (4, "满意", "Satisfied"), (3, "一般", "Neutral"),
      (2, "不满意", "Dissatisfied"), (1, "很不满意", "Very dissatisfied")]),
    ("points10", "十分制", "10 points", "labels", 1, 10,
     [(v, str(v), str(v)) for v in range(10, 0, -1)]),
    ("score100", "百分制（0–100）", "Score 0–100", "numeric", 0, 100, []),
    ("three3", "三级（好/一般/差）", "3 levels (good/fair/poor)", "labels", 1, 3,
     [(3, "好", "Good"), (2, "一般", "Fair"), (1, "差", "Poor")]),
    ("yes_no", "是/否", "Yes / no", "labels", 0, 1, [(1, "是", "Yes"), (0, "否", "No")]),
]


def ensure_shipped_scales():
    """Create the shipped scales that are missing; return them by code."""
    existing = {s.code: s for s in db.session.scalars(select(Scale))}
    for code, zh, en, style, lo, hi, options in SHIPPED_SCALES:
        if code in existing:
            continue
        scale = Scale(code=code, name_zh=zh, name_en=en, style=style, lo=lo, hi=hi,
                      options=[ScaleOption(position=i, value=v, label_zh=lz, label_en=le)
                               for i, (v, lz, le) in enumerate(options)])
        db.session.add(scale)
        existing[code] = scale
    db.session.flush()
    return existing


def option_label(option, language):
    return option.label_zh if language == "zh" else option.label_en
