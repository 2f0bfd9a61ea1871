"""Recording a filled form, exactly once per invitation (DESIGN §4.1.3)."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Answer, Invitation, Response
from ..models.base import utcnow
from . import DomainError
from .hooks import response_submitted
from .quarters import quarter_of


class AlreadySubmitted(DomainError):
    """The invitation already has its response; nothing was recorded."""


def lock_invitation(invitation_id):
    """Re-read the invitation under a row lock (PostgreSQL) / the write lock (SQLite)."""
    return db.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id)
        .with_for_update().execution_options(populate_existing=True))


def submit_response(version, parsed, *, channel, project, invitation=None, round=None,
                    contact=None, entered_by=None, started_at=None, client_ip=None,
                    user_agent=None, quarter=None, submitted_at=None):
    """Store ``parsed`` (a complete ParsedAnswers) as one Response and fire ``response_submitted``.

    With an invitation, a concurrent or repeated submit raises AlreadySubmitted: the
    invitation row is locked and re-checked, and the database's unique key on
    ``responses.invitation_id`` refuses any second row that slips past.
    """
    if not parsed.ok:
        raise DomainError("the answers have errors")
    now = utcnow()
    if invitation is not None:
        invitation = lock_invitation(invitation.id)
        if invitation.used_at is not None or invitation.response is not None:
            raise AlreadySubmitted("already submitted")
        round = round or invitation.round
        contact = contact or invitation.contact
    submitted_at = submitted_at or now
    response = Response(
        template_version_id=version.id, project_id=project.id,
        round_id=round.id if round else None,
        invitation_id=invitation.id if invitation else None,
        contact_id=contact.id if contact else None,
        quarter=quarter or (round.quarter if round else quarter_of(submitted_at.date())),
        channel=channel, entered_by_id=entered_by.id if entered_by else None,
        started_at=started_at, submitted_at=submitted_at, client_ip=client_ip,
        user_agent=(user_agent or "")[:255] or None, score=parsed.score, comment=parsed.comment,
        answers=[Answer(question_id=v.question.id, raw_value=v.raw_value, text_value=v.text_value,
                        is_na=v.is_na, normalized=v.normalized) for v in parsed.values.values()])
    try:
        with db.session.begin_nested():
            db.session.add(response)
            if invitation is not None:
                invitation.used_at = now
                invitation.draft = None
            if version.frozen_at is None:
                version.frozen_at = now  # answered: from now on editing makes a new version
            db.session.flush()
    except IntegrityError:
        raise AlreadySubmitted("already submitted") from None
    response_submitted.send(response)
    return response
