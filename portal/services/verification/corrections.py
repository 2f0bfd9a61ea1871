"""Correcting a submitted form (issue 13 §1, DESIGN §4.5.1): the one legitimate way to change a
response after submission. The quality department fixes a typing mistake in a form staff entered
(paper, phone, visit, on behalf), never one the client filled in themselves; the reason is required,
every changed answer is audited with its value before and after, and the form must be verified again
(the "edited" suspicion flag marks it in the queue). Functions flush, the caller commits."""
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ...extensions import db
from ...models import Answer, AuditEvent, Response, RollupRevision, User
from ...models.base import utcnow
from .. import DomainError
from ..archive.guard import ensure_editable
from ..answers import NA, AnswersInvalid, parse_answers
from ..audit import record_event
from ..responses import answer_rows, lock_row
from .decisions import REASON_MAX, may_verify

#: the channels where staff typed the answers in, so a typing mistake can be theirs
CORRECTABLE_CHANNELS = ("paper", "phone", "visit", "on_behalf")
AUDIT_ACTION = "response_corrected"


def may_correct(user, response) -> bool:
    """Whether ``user`` may correct ``response``: the quality department, a staff-entered channel,
    a form not yet handed to the archive (archived records are read-only, DESIGN §4.6)."""
    return may_verify(user) and correctable(response)


def correctable(response) -> bool:
    return response.channel in CORRECTABLE_CHANNELS and response.archived_at is None


def published_revision(quarter) -> Optional[int]:
    """The number of the quarter's latest published rollup revision, None if not published yet."""
    return db.session.scalar(select(func.max(RollupRevision.number)).where(RollupRevision.quarter == quarter))


def _value(answer) -> Optional[str]:
    """An Answer or a parsed AnswerValue as the form field's string (the unit of comparison)."""
    if answer is None:
        return None
    if answer.is_na:
        return NA
    if answer.text_value is not None:
        return answer.text_value
    return f"{answer.raw_value:g}" if answer.raw_value is not None else None


def _shown(response) -> dict:
    """{question code: the answer as the form showed it} (None: not answered or not applicable)."""
    return {row.code: row.answer for row in answer_rows(response)}


def _check(response, actor, reason):
    if not may_verify(actor):
        raise PermissionError(f"{actor!r} may not correct responses")
    if response.channel not in CORRECTABLE_CHANNELS:
        raise DomainError(_l("Only forms typed in by staff can be corrected; the client filled in this one."),
                          field="channel")
    ensure_editable(response)  # archived: read-only (ArchivedRecord, a DomainError)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the answers are corrected."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_l("At most %(n)d characters.", n=REASON_MAX), field="reason")
    return reason


def correct_answers(response, form_data, *, actor, reason, now=None) -> Response:
    """Replace ``response``'s answers by ``form_data`` (fields ``q_<code>``, checked as at entry).

    PermissionError unless ``actor`` is in the quality department; DomainError (with its field)
    for a client-filled or archived form, no reason, nothing changed; AnswersInvalid (field
    ``answers``, ``errors`` by question code) for answers that do not parse. All or nothing. The
    score and comment are recomputed, a verified or rejected form goes back to pending, and a
    form that now calls for a follow-up gets one. A quarter already published still takes the
    correction (``published_revision`` tells; the close dashboard then asks for re-publication)."""
    reason = _check(response, actor, reason)
    response = lock_row(Response, response.id)  # two correctors: the second sees the first's answers
    version = response.template_version
    parsed = parse_answers(version, form_data, complete=True)
    if not parsed.ok:
        error = AnswersInvalid(parsed.errors)
        error.field = "answers"
        raise error
    existing = {a.question_id: a for a in response.answers}
    changes = [(q, existing.get(q.id), parsed.values.get(q.code), _value(existing.get(q.id)))
               for q in version.questions if _value(existing.get(q.id)) != _value(parsed.values.get(q.code))]
    if not changes:
        raise DomainError(_l("These are the answers already recorded: nothing to correct."), field="answers")
    before_shown, before_score = _shown(response), response.score
    for question, answer, value, _before in changes:
        if value is None:                  # an optional answer taken back
            response.answers.remove(answer)
        elif answer is None:               # an optional question answered now
            response.answers.append(Answer(question_id=question.id, raw_value=value.raw_value,
                                           text_value=value.text_value, is_na=value.is_na,
                                           normalized=value.normalized))
        else:
            answer.raw_value, answer.text_value = value.raw_value, value.text_value
            answer.is_na, answer.normalized = value.is_na, value.normalized
    now = now or utcnow()
    before_state = response.verification_status
    response.score, response.comment = parsed.score, parsed.comment
    response.edited_at, response.edit_count = now, (response.edit_count or 0) + 1
    if before_state != "pending":          # judged on the old answers: judge it again
        response.verification_status, response.verification_reason = "pending", None
        response.verified_by_id = response.verified_at = None
    db.session.flush()
    after_shown = _shown(response)
    record_event(AUDIT_ACTION, response, actor=actor, detail={
        "reason": reason, "count": response.edit_count, "verification_before": before_state,
        "score": [before_score, response.score], "published_revision": published_revision(response.quarter),
        "changes": [{"code": q.code, "question": q.text, "before": before, "after": _value(v),
                     "before_shown": before_shown.get(q.code), "after_shown": after_shown.get(q.code)}
                    for q, _answer, v, before in changes]})
    from ..followups import open_for_response  # the rules a submission follows, for the new answers
    open_for_response(response)
    db.session.flush()
    return response


@dataclass(frozen=True)
class Change:
    code: str
    question: str
    before: Optional[str]   # as the form showed it; None: no answer
    after: Optional[str]
    before_na: bool
    after_na: bool


@dataclass(frozen=True)
class Correction:
    at: datetime
    by: Optional[str]       # the corrector's display name (or user name)
    reason: str
    changes: tuple


def corrections_of(response) -> list:
    """The response's corrections, oldest first, from the audit trail."""
    rows = db.session.execute(
        select(AuditEvent, User.display_name).outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.action == AUDIT_ACTION, AuditEvent.object_type == "Response",
               AuditEvent.object_id == str(response.id))
        .order_by(AuditEvent.at, AuditEvent.id)).all()
    found = []
    for event, name in rows:
        detail = json.loads(event.detail or "{}")
        found.append(Correction(event.at, name or event.username, detail.get("reason") or "", tuple(
            Change(c["code"], c.get("question") or c["code"], c.get("before_shown"), c.get("after_shown"),
                   c.get("before") == NA, c.get("after") == NA)
            for c in detail.get("changes", []))))
    return found
