"""The check on a closed complaint's handling (DESIGN §4.7.4): closing a complaint issues a short
``complaint_followup`` questionnaire (speed of handling, effect, staff attitude, overall) either
by a single-use link e-mailed to the complainant or as a call for the quality desk. Its answers
are recorded through ``submit_response`` like any response, so a low score or a comment opens a
follow-up (``response_submitted``); the complaint's timeline gets the score.

A link is a 256-bit token looked up by its SHA-256 and kept only encrypted, like an invitation's;
every kind of bad link looks the same to the caller, and failed lookups count against the address
(the survey links' throttle)."""
from datetime import timedelta

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import SURVEY_MODES, Complaint, ComplaintEvent, ComplaintSurvey
from ...models.base import utcnow
from .. import DomainError, throttle
from ..answers import AnswersInvalid, parse_answers
from ..audit import record_event
from ..notifications import notify_role
from ..questionnaires import current_versions
from ..responses import AlreadySubmitted, lock_row, submit_response
from ..tokens import encrypt_token, hash_token, new_token
from .messages import SURVEY, complainant_email, complainant_language, in_complainant_language, link_of
from ..outbound import queue_message

#: how long the complainant's link stays valid
LINK_DAYS = 14
KIND = "complaint_followup"


class CheckLinkInvalid(DomainError):
    """Unknown, used, expired or lapsed: the visitor only hears 'not valid'."""


def check_versions(prefer_language=None):
    """Current versions of the ``complaint_followup`` templates, ``prefer_language`` first."""
    return sorted(current_versions(KIND), key=lambda v: v.template.language != prefer_language)


def default_mode(complaint) -> str:
    """A link when the complainant's e-mail is known, else a call by the quality desk."""
    return "link" if complainant_email(complaint) else "callback"


def check_link(token: str) -> str:
    """The absolute URL the complainant opens (PUBLIC_BASE_URL when set, as survey links)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        path = current_app.url_map.bind("localhost").build("complaint_form.open_check", {"token": token})
        return base.rstrip("/") + path
    if not (has_request_context() or current_app.config.get("SERVER_NAME")):
        raise DomainError(_l("Set PUBLIC_BASE_URL so that links sent to clients carry the site's address."))
    return url_for("complaint_form.open_check", token=token, _external=True)


def choose_mode(complaint, mode):
    """Check the closing step's choice of how the check is taken (None: the default)."""
    mode = mode or default_mode(complaint)
    if mode not in SURVEY_MODES:
        raise DomainError(_("Choose how the check on the handling is taken."), field="check_by")
    if mode == "link" and not complainant_email(complaint):
        raise DomainError(_("No e-mail address is known for the complainant: the quality desk calls "
                            "instead."), field="check_by")
    version = _version_for(complaint)
    if version is None:
        raise DomainError(_("There is no complaint follow-up questionnaire to send; create one under "
                            "Questionnaires first."), field="check_by")
    return mode, version


def _version_for(complaint):
    versions = check_versions(complainant_language(complaint))
    return versions[0] if versions else None


def issue_check(complaint, mode, version, *, now=None) -> ComplaintSurvey:
    """Create the check for this closing (once: a second call returns the same one) and send
    the link, or put the call in the quality desk's queue. Flushes."""
    now = now or utcnow()
    closing = complaint.reopen_count or 0
    existing = db.session.scalar(select(ComplaintSurvey).where(
        ComplaintSurvey.complaint_id == complaint.id, ComplaintSurvey.closing == closing))
    if existing is not None:
        return existing
    check = ComplaintSurvey(complaint=complaint, closing=closing, mode=mode, template_version=version,
                            language=version.template.language, created_at=now)
    db.session.add(check)
    if mode == "link":
        token, token_hash = new_token()
        check.token_hash, check.token_encrypted = token_hash, encrypt_token(token)
        check.expires_at = now + timedelta(days=LINK_DAYS)
        link = check_link(token)
        with in_complainant_language(complaint):
            subject = _("How did we handle your complaint %(ref)s?", ref=complaint.reference)
            body = _("Your complaint %(ref)s is closed. Please tell us in four short questions how we "
                     "handled it — the speed, the effect, our staff's attitude — so that we can do "
                     "better:\n\n%(link)s\n\nThe link is valid for %(days)d days and can be used once.",
                     ref=complaint.reference, link=link, days=LINK_DAYS)
        queue_message(SURVEY, complainant_email(complaint), str(subject), str(body), now=now)
        check.sent_at = now
    else:
        ref = complaint.reference
        notify_role("quality", "complaint_check_call",
                    lambda user: _("Call about a closed complaint: %(ref)s", ref=ref),
                    lambda user: _("Complaint %(ref)s is closed; call the complainant and ask how it was "
                                   "handled (the short check questionnaire).", ref=ref),
                    link=link_of(complaint))
    db.session.flush()
    record_event("complaint_check_issued", check, detail={"complaint": complaint.id, "mode": mode,
                                                         "closing": closing, "version": version.id})
    return check


def latest_check(complaint):
    return complaint.surveys[-1] if complaint.surveys else None


def _is_open(check, now):
    return (not check.answered and check.mode == "link" and check.expires_at is not None
            and check.expires_at > now)


def find_valid_check(token, *, address=None, now=None):
    """The check ``token`` opens, or None for any kind of invalid link. A token never issued counts
    against ``address``; over the threshold throttle.TooManyFailures, even for a good link."""
    from ..survey import TOKEN_SHAPE
    now = now or utcnow()
    if address is not None:
        decision = throttle.check_survey_link(address, now=now)
        if not decision.allowed:
            raise throttle.TooManyFailures(decision)
    check = None
    if token and TOKEN_SHAPE.fullmatch(token):
        check = db.session.scalar(select(ComplaintSurvey).where(ComplaintSurvey.token_hash == hash_token(token)))
    if check is None and address is not None:
        event = record_event(throttle.SURVEY_LINK_INVALID, address=address, detail={"via": "complaint check"})
        event.at = now
    if check is None or not _is_open(check, now):
        return None
    if check.opened_at is None:
        check.opened_at = now
        db.session.flush()
    return check


def check_for_session(check_id, now=None):
    """The check a browser's session points at, re-checked: AlreadySubmitted once answered,
    CheckLinkInvalid for anything else."""
    check = db.session.get(ComplaintSurvey, check_id) if isinstance(check_id, int) else None
    return _answerable(check, now)


def _answerable(check, now=None):
    if check is None:
        raise CheckLinkInvalid("no such check")
    if check.answered:
        raise AlreadySubmitted("already submitted")
    if not _is_open(check, now or utcnow()):
        raise CheckLinkInvalid("check no longer open")
    return check


def _who(complaint):
    name = complaint.contact.name if complaint.contact is not None else complaint.complainant_name
    return (name or "?")[:64]


def _record(check, data, *, channel, entered_by=None, client_ip=None, user_agent=None, now=None):
    version = check.template_version
    parsed = parse_answers(version, data, complete=True)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    complaint = check.complaint
    now = now or utcnow()
    response = submit_response(
        version, parsed, channel=channel, project=complaint.project, origin=check, contact=complaint.contact,
        entered_by=entered_by, started_at=check.opened_at, client_ip=client_ip, user_agent=user_agent,
        submitted_at=now, audit_action="complaint_check_answered",
        audit_username=None if entered_by else _who(complaint),
        audit_detail={"complaint": complaint.id, "check": check.id})
    complaint.events.append(ComplaintEvent(
        at=now, actor_id=entered_by.id if entered_by else None, action="check_answered",
        from_state=complaint.state, to_state=complaint.state, clock=None,
        note=parsed.comment, detail={"check": check.id, "response": response.id, "score": response.score,
                                     "channel": channel}))
    db.session.flush()
    return response


def submit_check_online(check_id, data, *, client_ip=None, user_agent=None, now=None):
    """The complainant's answers through the link (channel ``online``); the check row is locked
    first, so of concurrent submits exactly one succeeds."""
    check = _answerable(lock_row(ComplaintSurvey, check_id), now)
    return _record(check, data, channel="online", client_ip=client_ip, user_agent=user_agent, now=now)


def may_call(user, check) -> bool:
    return user is not None and user.is_active and user.has_role("quality") and check.mode == "callback"


def record_check_call(check, user, data, *, now=None):
    """The quality desk's call: the complainant's answers typed in (channel ``phone``)."""
    if not may_call(user, check):
        raise PermissionError("only the quality desk records the call of a check")
    if check.answered:
        raise AlreadySubmitted(_l("The answers of this check are in already."))
    check = lock_row(ComplaintSurvey, check.id)
    if check.answered:
        raise AlreadySubmitted(_l("The answers of this check are in already."))
    return _record(check, data, channel="phone", entered_by=user, now=now)


def calls_waiting(limit=50):
    """Checks the quality desk still has to call, oldest first."""
    return db.session.scalars(
        select(ComplaintSurvey).where(ComplaintSurvey.mode == "callback", ComplaintSurvey.response_id.is_(None))
        .options(joinedload(ComplaintSurvey.complaint).joinedload(Complaint.project),
                 joinedload(ComplaintSurvey.complaint).joinedload(Complaint.contact))
        .order_by(ComplaintSurvey.created_at, ComplaintSurvey.id).limit(limit)).all()
