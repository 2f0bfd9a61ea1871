"""Judging responses (DESIGN §4.5.1): the quality department marks a quarter's forms authentic or
rejects them with a reason, one by one or several at once; a rejected form is left out of every
figure. Each judgement is audited with the state before; a form may be judged again (a rejection
corrected) until its quarter is published — freezing comes with the rollup (issue 13).
Functions flush, the caller commits."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...extensions import db
from ...models import Response
from ...models.base import utcnow
from .. import DomainError
from ..archive.guard import ensure_editable
from ..audit import record_event

REASON_MAX = 2000
VERDICTS = ("authentic", "rejected")


def may_verify(user) -> bool:
    return user is not None and user.is_active and user.has_role("quality")


def _reason(verdict, reason):
    reason = (reason or "").strip() or None
    if verdict == "rejected" and reason is None:
        raise DomainError(_l("Say why the form is rejected."), field="reason")
    if reason is not None and len(reason) > REASON_MAX:
        raise DomainError(_l("At most %(n)d characters.", n=REASON_MAX), field="reason")
    return reason


def judge(responses, verdict, *, actor, reason=None, now=None) -> list:
    """Mark ``responses`` (Response objects or ids) ``authentic`` or ``rejected`` (a reason
    required). All or nothing: DomainError before anything changes. Returns the responses whose
    state changed (one judged the same way again keeps its first judgement)."""
    if not may_verify(actor):
        raise PermissionError(f"{actor!r} may not verify responses")
    if verdict not in VERDICTS:
        raise DomainError(_l("Choose authentic or rejected."), field="verdict")
    reason = _reason(verdict, reason)
    ids = [r.id if isinstance(r, Response) else int(r) for r in responses]
    if not ids:
        raise DomainError(_l("Choose at least one form."), field="responses")
    found = db.session.scalars(select(Response).where(Response.id.in_(ids))
                               .execution_options(populate_existing=True)).all()
    if len(found) != len(set(ids)):
        raise DomainError(_l("Some of these forms do not exist any more."), field="responses")
    for response in found:
        ensure_editable(response)  # an archived form's judgement is final (DESIGN §4.6)
    now = now or utcnow()
    changed = []
    for response in found:
        if response.verification_status == verdict and response.verification_reason == reason:
            continue
        before = response.verification_status
        response.verification_status, response.verification_reason = verdict, reason
        response.verified_by_id, response.verified_at = actor.id, now
        record_event(f"response_{'verified' if verdict == 'authentic' else 'rejected'}", response, actor=actor,
                     detail={"from": before, "to": verdict, "reason": reason, "bulk": len(found) > 1})
        changed.append(response)
    db.session.flush()
    return changed
