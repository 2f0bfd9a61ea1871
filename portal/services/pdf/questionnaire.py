"""What the questionnaire documents share: questions as printable plain data (tick boxes,
number fields, lines for text), the document header, and the finished file."""
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from flask_babel import format_datetime, gettext as _

from ...labels import CONTACT_FUNCTION_LABELS, TEMPLATE_KIND_LABELS
from ..scales import option_label
from ..scoring import fmt_score

DATETIME_FORMAT = "yyyy-MM-dd HH:mm xxx"


@dataclass(frozen=True)
class Box:
    """One option printed as a tick box."""
    label: str
    checked: bool = False


@dataclass(frozen=True)
class QuestionItem:
    number: int
    text: str
    required: bool
    layout: str                 # "boxes" (tick one), "number" (write a value), "lines" (free text)
    boxes: tuple = ()
    na: Optional[Box] = None    # the "not applicable" box, when the question allows it
    range_hint: str = ""        # "0–100" for a numeric scale
    value: str = ""             # filled: the number or text given
    score: str = ""             # filled: the normalized 1–5 score, "" if none
    answered: bool = False


@dataclass(frozen=True)
class Document:
    """What a template needs besides its questions: title lines and labelled details."""
    title: str
    subtitle: str
    language: str               # of the question texts (lang attribute, option labels)
    details: tuple = ()         # ((label, value), ...)
    reference: str = ""         # top right of every page


@dataclass(frozen=True)
class PdfFile:
    filename: str
    data: bytes


def when(value: Optional[datetime]) -> str:
    """A stored (naive UTC) timestamp in the portal's time zone (Asia/Shanghai by default)."""
    return format_datetime(value, DATETIME_FORMAT) if value else ""


def paragraphs(text):
    return tuple(p.strip() for p in (text or "").splitlines() if p.strip())


def _options(question, language):
    """(value, label) pairs a question offers, best first; None for a numeric or text question."""
    if question.type in ("scale", "yes_no") and question.scale is not None:
        if question.scale.style == "numeric":
            return None
        return [(o.value, option_label(o, language)) for o in question.scale.options]
    if question.type == "choice":
        return [(c, c) for c in question.choices or []]
    return None


def question_item(number, question, language, answer=None):
    """One question as plain data; with ``answer`` the chosen box is ticked and scored."""
    answered = answer is not None
    is_na = bool(answered and answer.is_na)
    na = Box(_("Not applicable"), is_na) if question.allow_na and question.type != "text" else None
    common = dict(number=number, text=question.text, required=question.required, na=na,
                  answered=answered)
    score = fmt_score(answer.normalized) if answered and answer.normalized is not None else ""
    options = _options(question, language)
    if options is not None:
        chosen = None
        if answered and not is_na:
            chosen = answer.text_value if question.type == "choice" else answer.raw_value
        boxes = tuple(Box(label, chosen is not None and value == chosen) for value, label in options)
        return QuestionItem(layout="boxes", boxes=boxes, score=score, **common)
    if question.type in ("scale", "yes_no") and question.scale is not None:
        value = f"{answer.raw_value:g}" if answered and answer.raw_value is not None else ""
        hint = f"{question.scale.lo:g}–{question.scale.hi:g}"
        return QuestionItem(layout="number", range_hint=hint, value=value, score=score, **common)
    return QuestionItem(layout="lines", value=(answer.text_value or "") if answered else "", **common)


def version_subtitle(version):
    return _("%(kind)s · version %(number)s", kind=TEMPLATE_KIND_LABELS.get(version.template.kind,
                                                                              version.template.kind),
             number=version.number)


def contact_line(contact):
    if contact is None:
        return ""
    function = CONTACT_FUNCTION_LABELS.get(contact.function)
    return _("%(name)s (%(function)s)", name=contact.name, function=function) if function else contact.name
