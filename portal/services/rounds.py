"""PM quarterly questionnaire rounds (DESIGN §4.1): open a round for a project and
quarter, invite more contacts, close it, and type in the paper forms that come back.

Links are issued by services.invitations, messages sent by services.invitation_messages,
progress read by services.round_status.
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Contact, RoundVersion, SurveyRound, TemplateVersion
from ..models.base import utcnow
from . import DomainError
from .answers import AnswersInvalid, parse_answers
from .audit import record_change, record_event
from .invitations import check_runner, new_invitations
from .quarters import MAX_YEAR, MIN_YEAR, parse_quarter, quarter_bounds
from .responses import AlreadySubmitted, submit_response
from .variants import matching_variants

#: a round's answers belong to its quarter: its links may not outlive it by more than this
MAX_DUE_AFTER_QUARTER = timedelta(days=90)

__all__ = ["AlreadySubmitted", "AnswersInvalid", "selectable_versions", "open_round",
           "add_contacts_to_round", "close_round", "enter_paper_response", "contacts_for_round_form",
           "version_by_id"]


def selectable_versions(prefer_language=None):
    """Current versions of the pm_quarterly templates a new round may use; those in
    ``prefer_language`` first, so the form pre-selects one in the PM's own language."""
    from .questionnaires import current_versions
    versions = current_versions("pm_quarterly")
    return sorted(versions, key=lambda v: v.template.language != prefer_language)


def _check_contacts(project, contacts, existing=()):
    """The contacts, de-duplicated, checked against the rules; DomainError on field 'contacts'."""
    unique = list({c.id: c for c in contacts}.values())
    if not unique:
        raise DomainError(_l("Pick at least one contact."), field="contacts")
    foreign = [c.name for c in unique if c.client_id != project.client_id]
    if foreign:
        raise DomainError(_l("Not a contact of this project's client: %(names)s",
                             names=", ".join(foreign)), field="contacts")
    opted_out = [c.name for c in unique if c.opted_out]
    if opted_out:
        raise DomainError(_l("These contacts asked not to receive questionnaires: %(names)s",
                             names=", ".join(opted_out)), field="contacts")
    already = [c.name for c in unique if c.id in existing]
    if already:
        raise DomainError(_l("Already invited in this round: %(names)s", names=", ".join(already)),
                          field="contacts")
    return unique


def open_round(project, quarter, version, contacts, due_date=None, by_user=None, *, today=None):
    """Open a questionnaire round for ``project`` with one invitation per contact.

    ``due_date`` defaults to the quarter's last day. ``today``: when given (the PM's
    form), a due date before it is refused; loading past rounds leaves it out.
    """
    check_runner(project, by_user)
    try:
        parse_quarter(quarter)
    except ValueError:
        raise DomainError(_l("Write the quarter as 2026Q4 (a year from %(lo)d to %(hi)d).",
                             lo=MIN_YEAR, hi=MAX_YEAR), field="quarter") from None
    first, last = quarter_bounds(quarter)
    if version is None or version.template.kind != "pm_quarterly":
        raise DomainError(_l("Pick a PM quarterly questionnaire."), field="version")
    if version.id not in {v.id for v in selectable_versions()}:
        raise DomainError(_l("Pick the current version of a questionnaire that is in use."), field="version")
    due_date = due_date or last
    if due_date < first:
        raise DomainError(_l("The due date cannot be before the quarter starts (%(day)s).",
                             day=first.isoformat()), field="due_date")
    if today is not None and due_date < today:
        raise DomainError(_l("The due date cannot be in the past."), field="due_date")
    if due_date > last + MAX_DUE_AFTER_QUARTER:
        raise DomainError(_l("The due date must be within %(days)d days after the quarter ends (%(day)s).",
                             days=MAX_DUE_AFTER_QUARTER.days, day=last.isoformat()), field="due_date")
    contacts = _check_contacts(project, contacts)
    rnd = SurveyRound(project=project, quarter=quarter, template_version=version, due_date=due_date,
                      created_by=by_user)
    rnd.versions = [RoundVersion(language=language, template_version=v)
                    for language, v in matching_variants(version).items()]
    db.session.add(rnd)
    new_invitations(rnd, contacts)
    db.session.flush()
    record_change("create", rnd, actor=by_user, after={
        "project": project.id, "quarter": quarter, "template_version": version.id,
        "variants": {v.language: v.template_version_id for v in rnd.versions},
        "due_date": due_date.isoformat(), "contacts": [c.id for c in contacts]})
    return rnd


def languages_offered(version) -> list:
    """The languages a round opened with ``version`` sends, the version's own first."""
    return list(matching_variants(version))


def add_contacts_to_round(rnd, contacts, by_user):
    """Invite more contacts to an open round."""
    check_runner(rnd.project, by_user)
    if rnd.closed_at is not None:
        raise DomainError(_l("This round is closed."))
    contacts = _check_contacts(rnd.project, contacts, existing={i.contact_id for i in rnd.invitations})
    invitations = new_invitations(rnd, contacts)
    db.session.flush()
    record_event("update", rnd, actor=by_user, detail={"added_contacts": [c.id for c in contacts]})
    return invitations


def close_round(rnd, by_user, now=None):
    """No more answers: every link of the round stops working."""
    check_runner(rnd.project, by_user)
    if rnd.closed_at is None:
        rnd.closed_at = now or utcnow()
        db.session.flush()
        record_change("update", rnd, before={"closed_at": None}, after={"closed_at": rnd.closed_at},
                      actor=by_user)
    return rnd


ALREADY_SUBMITTED = _l("This contact's questionnaire has already been submitted.")


def enter_paper_response(invitation, data, by_user, *, scan=None, now=None):
    """Record a returned paper form for ``invitation`` as typed in by the project's PM.

    ``scan``: a checked upload (services.uploads.read_scan) stored with the response.
    Raises AnswersInvalid for bad answers, AlreadySubmitted if the contact already answered.
    """
    rnd = invitation.round
    check_runner(rnd.project, by_user)
    if invitation.answered:
        raise AlreadySubmitted(ALREADY_SUBMITTED)
    if rnd.closed_at is not None:
        raise DomainError(_l("This round is closed."))
    version = invitation.version  # the variant in the contact's language, as printed for them
    parsed = parse_answers(version, data, complete=True)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    try:
        return submit_response(version, parsed, channel="paper", project=rnd.project, origin=invitation,
                               contact=invitation.contact, entered_by=by_user, submitted_at=now,
                               scan=scan, audit_action="paper_entered",
                               audit_detail={"round": rnd.id})
    except AlreadySubmitted:
        raise AlreadySubmitted(ALREADY_SUBMITTED) from None


def contacts_for_round_form(project):
    """The project's client's contacts, opted-out ones included (the form shows them disabled)."""
    return db.session.scalars(select(Contact).where(Contact.client_id == project.client_id)
                              .order_by(Contact.name)).all()


def version_by_id(version_id):
    return db.session.get(TemplateVersion, version_id) if version_id else None
