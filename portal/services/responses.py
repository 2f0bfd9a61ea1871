"""Filled forms: recording one exactly once, whatever brought it in, and reading it back.

Every channel records through ``submit_response``: the client's own link, a typed-in
paper form, and later a sales inquiry, a callback or a complaint check. What the
response answers is its *origin*, any model with an ``id``, an ``answered``
property and ``attach_response(response, now)`` (today an Invitation). The origin's
row is locked and re-checked, so of concurrent submits exactly one succeeds.
"""
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Answer, Response
from ..models.base import utcnow
from . import DomainError
from .audit import record_event
from .hooks import response_submitted
from .quarters import quarter_of


class AlreadySubmitted(DomainError):
    """The origin already has its response; nothing was recorded."""


def lock_row(model, row_id):
    """Re-read a row under a row lock (PostgreSQL) / the write lock (SQLite), fresh from the database."""
    return db.session.scalar(select(model).where(model.id == row_id)
                             .with_for_update().execution_options(populate_existing=True))


def submit_response(version, parsed, *, channel, project, origin=None, origin_locked=False, contact=None,
                    entered_by=None,
                    started_at=None, client_ip=None, user_agent=None, quarter=None,
                    submitted_at=None, scan=None, audit_action="response_submitted",
                    audit_username=None, audit_detail=None):
    """Store ``parsed`` (a complete ParsedAnswers) as one Response, in the caller's transaction.

    Then, in this order: the scan (a checked upload from services.uploads.read_scan) is
    stored, the audit event ``audit_action`` recorded, and ``response_submitted`` fired,
    so receivers see a complete response. AlreadySubmitted if the origin already has one
    (the database's unique key on the origin refuses any second row that slips past).
    ``origin_locked``: the caller has locked the origin's row in this transaction and checked it
    is not answered (services.survey does, in one statement), so it is not read again here.
    """
    if not parsed.ok:
        raise DomainError("the answers have errors")
    now = utcnow()
    if origin is not None and not origin_locked:
        origin = lock_row(type(origin), origin.id)
        if origin.answered:
            raise AlreadySubmitted("already submitted")
    submitted_at = submitted_at or now
    response = Response(
        template_version_id=version.id, project_id=project.id,
        contact_id=contact.id if contact else None,
        quarter=quarter or quarter_of(submitted_at),
        channel=channel, entered_by_id=entered_by.id if entered_by else None,
        started_at=started_at, submitted_at=submitted_at, client_ip=client_ip,
        user_agent=(user_agent or "")[:255] or None, score=parsed.score, comment=parsed.comment,
        answers=[Answer(question_id=v.question.id, raw_value=v.raw_value, text_value=v.text_value,
                        is_na=v.is_na, normalized=v.normalized) for v in parsed.values.values()])
    try:
        with db.session.begin_nested():
            if origin is not None:
                origin.attach_response(response, now)
            db.session.add(response)
            if version.frozen_at is None:
                version.frozen_at = now  # answered: from now on editing makes a new version
            db.session.flush()
    except IntegrityError:
        raise AlreadySubmitted("already submitted") from None
    if scan is not None:
        from .uploads import store_scan
        store_scan(response, scan, entered_by)
    record_event(audit_action, response, actor=entered_by, username=audit_username,
                 detail={"channel": channel, "origin": _origin_ref(origin), "scan": scan is not None,
                         **(audit_detail or {})})
    db.session.flush()
    response_submitted.send(response)
    return response


def _origin_ref(origin):
    return f"{type(origin).__name__}:{origin.id}" if origin is not None else None


# --- reading one back ------------------------------------------------------------------------

@dataclass
class AnswerRow:
    number: int
    code: str
    text: str
    dimension: Optional[str]
    answer: Optional[str]       # what was chosen or written, as the form showed it
    raw_value: Optional[float]
    normalized: Optional[float]
    is_na: bool


def _shown(question, answer, language):
    """An answer as the form showed it: the option's label with its raw value, or the text."""
    if answer is None or answer.is_na:
        return None
    if answer.text_value is not None:
        return answer.text_value
    if answer.raw_value is None:
        return None
    shown = f"{answer.raw_value:g}"
    scale = question.scale
    if scale is not None and scale.style == "labels":
        option = next((o for o in scale.options if o.value == answer.raw_value), None)
        if option is not None:
            label = option.label_zh if language == "zh" else option.label_en
            shown = f"{label} ({shown})"
    return shown


def answer_rows(response) -> list:
    """The response's answers in question order, unanswered questions included (answer None)."""
    version = response.template_version
    by_question = {a.question_id: a for a in response.answers}
    language = version.template.language
    rows = []
    for number, question in enumerate(version.questions, start=1):
        answer = by_question.get(question.id)
        rows.append(AnswerRow(number, question.code, question.text, question.dimension,
                              _shown(question, answer, language),
                              answer.raw_value if answer else None, answer.normalized if answer else None,
                              bool(answer and answer.is_na)))
    return rows
