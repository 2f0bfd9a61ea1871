"""Client links (DESIGN §4.1.2): one unguessable link per invitation.

A link is a 256-bit token. The portal looks it up by its SHA-256 and keeps the
token itself only encrypted (services.tokens), so the same link can be shown,
copied, printed and e-mailed as often as needed and the client's copy keeps
working. Only an explicit "issue a new link" (``rotate_link``) replaces it; then
every earlier copy stops working. Invitations expire at the end of the round's
due date, local time.
"""
from typing import Optional

from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Invitation
from ..models.base import utcnow
from . import DomainError
from .audit import record_event
from .quarters import end_of_local_day
from .scope import runs_project
from .tokens import decrypt_token, encrypt_token, new_token
from .variants import language_for

LINK_PROBLEMS = {
    "answered": _l("This contact has already answered; the link is no longer needed."),
    "opted_out": _l("This contact asked not to receive questionnaires."),
    "closed": _l("This round is closed."),
    "expired": _l("The round's due date has passed; the link has expired."),
}
NOT_THE_RUNNER = _l("Only the project's project manager can run its questionnaire rounds.")


def check_runner(project, by_user):
    """DomainError unless ``by_user`` runs ``project``'s rounds (its own PM)."""
    if not runs_project(by_user, project):
        raise DomainError(NOT_THE_RUNNER)


def survey_link(token: str) -> str:
    """The absolute URL a client opens: PUBLIC_BASE_URL + path when set, else this site's own
    (whose Host header the app factory only accepts from TRUSTED_HOSTS)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        path = current_app.url_map.bind("localhost").build("survey.open_link", {"token": token})
        return base.rstrip("/") + path
    if not (has_request_context() or current_app.config.get("SERVER_NAME")):
        raise DomainError(_l("Set PUBLIC_BASE_URL so that links sent to clients carry the site's address."))
    return url_for("survey.open_link", token=token, _external=True)


def _set_token(invitation, now):
    token, token_hash = new_token()
    invitation.token_hash = token_hash
    invitation.token_encrypted = encrypt_token(token)
    invitation.link_issued_at = now
    return token


def new_invitations(rnd, contacts, now=None):
    """One invitation per contact, each with its link and its language variant, expiring with the round."""
    now = now or utcnow()
    expires_at = end_of_local_day(rnd.due_date)
    invitations = []
    languages = [v.language for v in rnd.versions]
    for contact in contacts:
        language = language_for(contact.language, languages, rnd.template_version.template.language)
        invitation = Invitation(round=rnd, contact=contact, expires_at=expires_at, language=language)
        _set_token(invitation, now)
        invitations.append(invitation)
    db.session.add_all(invitations)
    return invitations


def link_problem(invitation, now=None) -> Optional[str]:
    """Why the invitation's link cannot be used now (a key of LINK_PROBLEMS), or None if it can."""
    now = now or utcnow()
    if invitation.answered:
        return "answered"
    if invitation.contact.opted_out:
        return "opted_out"
    if invitation.round.closed_at is not None:
        return "closed"
    if invitation.expires_at <= now:
        return "expired"
    return None


def _check_usable(invitation, now):
    problem = link_problem(invitation, now)
    if problem is not None:
        raise DomainError(LINK_PROBLEMS[problem])


def current_token(invitation, *, by_user=None, now=None) -> str:
    """The invitation's live token, the same every time. DomainError if the link cannot be used.

    An invitation whose token is not kept (issued before tokens were kept, or under
    another SECRET_KEY) gets a new one here, once; that is audited like any issue.
    """
    now = now or utcnow()
    _check_usable(invitation, now)
    token = decrypt_token(invitation.token_encrypted)
    if token is None:
        token = _issue(invitation, by_user, "not_kept", now)
    return token


def current_link(invitation, *, by_user=None, now=None) -> str:
    """The invitation's live link (see ``current_token``)."""
    return survey_link(current_token(invitation, by_user=by_user, now=now))


def _issue(invitation, by_user, reason, now):
    token = _set_token(invitation, now)
    db.session.flush()
    record_event("link_issued", invitation, actor=by_user,
                 detail={"round": invitation.round_id, "contact": invitation.contact_id, "reason": reason})
    return token


def rotate_link(invitation, by_user, now=None) -> str:
    """Issue a new link; every copy of the old one stops working. Only the project's PM may."""
    check_runner(invitation.round.project, by_user)
    now = now or utcnow()
    _check_usable(invitation, now)
    return survey_link(_issue(invitation, by_user, "rotated", now))
