"""Reading a filled questionnaire: form fields ``q_<code>`` → checked, normalized answers.

The same parser serves the client's online form, drafts, paper entry and later
channels, so one set of rules decides what a valid answer is.
"""
from dataclasses import dataclass, field
from typing import Mapping, Optional

from flask_babel import lazy_gettext as _l

from . import DomainError
from .scoring import normalize, response_score

NA = "na"
TEXT_LIMIT = 4000


class AnswersInvalid(DomainError):
    """Some answers are missing or not acceptable; ``errors`` maps question code → message."""

    def __init__(self, errors):
        super().__init__(_l("Some answers are missing or not valid."))
        self.errors = errors


def field_name(question) -> str:
    return f"q_{question.code}"


@dataclass
class AnswerValue:
    question: object
    raw_value: Optional[float] = None
    text_value: Optional[str] = None
    is_na: bool = False
    normalized: Optional[float] = None


@dataclass
class ParsedAnswers:
    values: dict = field(default_factory=dict)   # code -> AnswerValue (answered questions only)
    errors: dict = field(default_factory=dict)   # code -> message
    raw: dict = field(default_factory=dict)      # code -> submitted string (for drafts / redisplay)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def score(self) -> Optional[float]:
        return response_score(v.normalized for v in self.values.values())

    @property
    def comment(self) -> Optional[str]:
        texts = [v.text_value for v in self.values.values()
                 if v.question.type == "text" and v.text_value]
        return "\n\n".join(texts) or None


def is_scored(question) -> bool:
    return question.type in ("scale", "yes_no") and question.scale is not None


def parse_answers(version, data: Mapping[str, str], *, complete: bool) -> ParsedAnswers:
    """Check every question of ``version`` against ``data``.

    ``complete`` (a submission) also enforces required questions; a draft does not.
    """
    parsed = ParsedAnswers()
    for question in version.questions:
        # browsers send a line break as \r\n but count it (maxlength, the counter) as one character
        raw = (data.get(field_name(question)) or "").replace("\r\n", "\n").strip()
        if raw:
            parsed.raw[question.code] = raw
        if not raw:
            if complete and question.required:
                parsed.errors[question.code] = _l("Please answer this question.")
            continue
        try:
            parsed.values[question.code] = _parse_one(question, raw)
        except ValueError as exc:
            parsed.errors[question.code] = exc.args[0]
    return parsed


def _parse_one(question, raw):
    if "\x00" in raw:  # PostgreSQL cannot store it; no honest answer contains it
        raise ValueError(_l("This text contains a character that cannot be stored (NUL). Please remove it."))
    if raw == NA:
        if not question.allow_na:
            raise ValueError(_l("“Not applicable” is not allowed here."))
        return AnswerValue(question, is_na=True)
    if question.type == "text":
        if len(raw) > TEXT_LIMIT:
            raise ValueError(_l("Please keep this under %(n)d characters.", n=TEXT_LIMIT))
        return AnswerValue(question, text_value=raw)
    if question.type == "choice":
        if raw not in (question.choices or []):
            raise ValueError(_l("Please pick one of the options."))
        return AnswerValue(question, text_value=raw)
    scale = question.scale
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(_l("Please pick one of the options.")) from None
    if scale.style == "labels":
        # by label: the chosen option's own 5-point value (DESIGN §5)
        option = next((o for o in scale.options if o.value == value), None)
        if option is None:
            raise ValueError(_l("Please pick one of the options."))
        return AnswerValue(question, raw_value=value, normalized=option.points)
    if not (min(scale.lo, scale.hi) <= value <= max(scale.lo, scale.hi)):
        raise ValueError(_l("Enter a number from %(lo)g to %(hi)g.", lo=scale.lo, hi=scale.hi))
    return AnswerValue(question, raw_value=value, normalized=normalize(value, scale.lo, scale.hi))


def answers_as_form_data(response) -> dict:
    """A stored response back as form data (for redisplay and PDFs)."""
    data = {}
    for answer in response.answers:
        if answer.is_na:
            value = NA
        elif answer.text_value is not None:
            value = answer.text_value
        elif answer.raw_value is not None:
            value = f"{answer.raw_value:g}"
        else:
            continue
        data[field_name(answer.question)] = value
    return data
