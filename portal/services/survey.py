"""The client's side of a PM questionnaire (DESIGN §4.1.3): open a link, keep a draft,
submit once, or opt out. No account: possession of the token is the only credential.

A link is *valid* while its invitation exists, is unused, has not expired, its
contact has not opted out and its round is still open. Every way of being invalid
looks the same to the caller (``None`` / LinkInvalid), so a guesser learns nothing.
"""
import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Contact, Invitation, Project, Response, RoundVersion, SurveyRound, TemplateVersion
from ..models.base import utcnow
from . import DomainError, throttle
from .answers import AnswersInvalid, field_name, parse_answers
from .audit import record_event
from .responses import AlreadySubmitted, submit_response
from .tokens import hash_token

__all__ = ["AlreadySubmitted", "AnswersInvalid", "LinkInvalid", "choose_language", "find_valid_invitation",
           "open_invitation", "session_until", "invitation_for_session", "save_draft",
           "submit_online", "opt_out"]

#: what secrets.token_urlsafe produces; anything else cannot be a link we issued
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")


class LinkInvalid(DomainError):
    """Unknown, expired, opted out, round closed or session lapsed: the client only hears 'not valid'."""


def _is_open(invitation, now):
    return (not invitation.answered
            and invitation.expires_at > now
            and not invitation.contact.opted_out
            and invitation.round.closed_at is None)


def find_valid_invitation(token, now=None, *, address=None):
    """The invitation ``token`` opens, or None for any kind of invalid link.

    Given the ``address`` it comes from (a lookup from the web), a token we never issued is
    audited as ``survey_link_invalid`` and counts against that address: over the threshold
    this raises throttle.TooManyFailures even for a good link (services/throttle.py).
    A real link that is used or expired is not a guess and is not counted.
    """
    now = now or utcnow()
    if address is not None:
        decision = throttle.check_survey_link(address, now=now)
        if not decision.allowed:
            raise throttle.TooManyFailures(decision)
    invitation = None
    if token and TOKEN_SHAPE.fullmatch(token):
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None and address is not None:
        event = record_event(throttle.SURVEY_LINK_INVALID, address=address)
        event.at = now  # the throttle counts by this time
    if invitation is None or not _is_open(invitation, now):
        return None
    return invitation


def open_invitation(invitation, now=None):
    """Remember when the client first opened the link (the PM's 'opened' column)."""
    if invitation.opened_at is None:
        invitation.opened_at = now or utcnow()
        db.session.flush()


def session_until(invitation, minutes, now=None) -> datetime:
    """How long a browser may keep the form open: ``minutes``, never past the link's expiry."""
    return min((now or utcnow()) + timedelta(minutes=minutes), invitation.expires_at)


def invitation_for_session(invitation_id, now=None):
    """The invitation a survey session points at, re-checked on every request.

    Raises AlreadySubmitted once it has its response (the client proved they hold
    the link, so they may know that), LinkInvalid for anything else.
    """
    invitation = _with_its_form(invitation_id) if isinstance(invitation_id, int) else None
    return _still_answerable(invitation, now)


def _with_its_form(invitation_id):
    """The invitation with what its checks and its form read (contact, response, round, project,
    client, the round's versions with their templates) in two statements, where lazy loads took ten;
    the versions' questions, scales and options follow with their own selectin loads."""
    return db.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id).options(
            joinedload(Invitation.contact), joinedload(Invitation.response),
            joinedload(Invitation.round).options(
                joinedload(SurveyRound.project).joinedload(Project.client),
                joinedload(SurveyRound.template_version).joinedload(TemplateVersion.template),
                selectinload(SurveyRound.versions).joinedload(RoundVersion.template_version)
                .joinedload(TemplateVersion.template))))


def _lock_still_answerable(invitation, now=None):
    """Lock the invitation's row and re-read, fresh, what decides whether it may still take its
    response; raise as ``_still_answerable`` does. One statement: on PostgreSQL the row lock
    (FOR UPDATE OF invitations) makes a concurrent submit of the same link wait here and then
    see ``used_at`` set; on SQLite the request already holds the write lock (BEGIN IMMEDIATE)."""
    fresh = db.session.execute(
        select(Invitation.used_at, Invitation.expires_at, Response.id.label("response_id"),
               Contact.opted_out, SurveyRound.closed_at)
        .join(Contact, Contact.id == Invitation.contact_id)
        .join(SurveyRound, SurveyRound.id == Invitation.round_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.id == invitation.id).with_for_update(of=Invitation)).one_or_none()
    if fresh is None:
        raise LinkInvalid("no such invitation")
    if fresh.used_at is not None or fresh.response_id is not None:
        raise AlreadySubmitted("already submitted")
    if fresh.expires_at <= (now or utcnow()) or fresh.opted_out or fresh.closed_at is not None:
        raise LinkInvalid("invitation no longer open")
    return invitation


def _still_answerable(invitation, now=None):
    """The invitation if it can still take its response; else AlreadySubmitted or LinkInvalid."""
    if invitation is None:
        raise LinkInvalid("no such invitation")
    if invitation.answered:
        raise AlreadySubmitted("already submitted")
    if not _is_open(invitation, now or utcnow()):
        raise LinkInvalid("invitation no longer open")
    return invitation


def _who(contact):
    """The audit trail's 'who' for a client without an account."""
    return contact.name[:64]


def _version(invitation):
    return invitation.version  # the variant in the language the contact reads


def choose_language(invitation, language):
    """The contact switches to another language variant of the round's questionnaire; a draft
    carries over (the variants share question codes). Unknown languages are ignored."""
    if language in invitation.round.languages and language != invitation.language:
        record_event("survey_language_chosen", invitation, username=_who(invitation.contact),
                     detail={"from": invitation.language, "to": language})
        invitation.language = language
        db.session.flush()
    return invitation.version


def save_draft(invitation, data, now=None) -> datetime:
    """Keep the answers given so far (field name → string) to resume later; only bad values fail."""
    version = _version(invitation)
    parsed = parse_answers(version, data, complete=False)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    now = now or utcnow()
    invitation.draft = {field_name(q): parsed.raw[q.code] for q in version.questions
                        if q.code in parsed.raw}
    invitation.draft_saved_at = now
    record_event("survey_draft_saved", invitation, username=_who(invitation.contact),
                 detail={"answered": len(invitation.draft)})
    db.session.flush()
    return now


def submit_online(invitation, data, *, client_ip=None, user_agent=None, now=None):
    """Record the client's form as the invitation's one Response (channel ``online``).

    ``invitation`` is an Invitation (as the survey session loaded it) or its id. Its row is
    locked and re-checked before anything is written, so of several concurrent submits exactly
    one succeeds and the others raise AlreadySubmitted.
    """
    if not isinstance(invitation, Invitation):
        invitation = _still_answerable(_with_its_form(invitation), now)
    invitation = _lock_still_answerable(invitation, now)
    version = _version(invitation)
    parsed = parse_answers(version, data, complete=True)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    return submit_response(
        version, parsed, channel="online", project=invitation.round.project, origin=invitation,
        origin_locked=True, contact=invitation.contact, started_at=invitation.opened_at,
        client_ip=client_ip, user_agent=user_agent, submitted_at=now, audit_action="survey_submitted",
        audit_username=_who(invitation.contact))


def opt_out(invitation, now=None):
    """The contact asks for no further questionnaires; every open link of theirs dies with it."""
    contact = invitation.contact
    if not contact.opted_out:
        contact.opted_out = True
        contact.opted_out_at = now or utcnow()
        record_event("contact_opted_out", contact, username=_who(contact),
                     detail={"invitation": invitation.id, "via": "survey link"})
        db.session.flush()
    return contact
