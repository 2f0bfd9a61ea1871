"""What the complainant (someone outside the portal) is sent: through the outbox, in their
language (a contact's, else the one they wrote in, else Chinese). Only the check on the handling carries a link (its own
single-use survey link); nothing carries a link into the portal."""
from contextlib import contextmanager

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..notifications import in_language_of
from ..outbound import queue_message

#: the outbox kind of everything a complainant is sent (OUTBOX_KINDS)
ACKNOWLEDGEMENT = INVALID = SURVEY = "complaint"


def link_of(complaint) -> str:
    return f"/complaints/{complaint.id}"


def complainant_email(complaint) -> str | None:
    if complaint.contact is not None and complaint.contact.email:
        return complaint.contact.email
    return complaint.complainant_email or None


def complainant_language(complaint) -> str:
    languages = current_app.config["LANGUAGES"]
    language = complaint.contact.language if complaint.contact is not None else complaint.complainant_language
    return language if language in languages else "zh"


@contextmanager
def in_complainant_language(complaint):
    with force_locale(complainant_language(complaint)):
        yield


def queue_to_complainant(complaint, kind, build, *, now=None):
    """Queue ``build()`` -> (subject, body), composed in the complainant's language, when an
    e-mail address is known; None otherwise (the desk tells them another way)."""
    address = complainant_email(complaint)
    if not address:
        return None
    with in_complainant_language(complaint):
        subject, body = (str(part) for part in build())
    return queue_message(kind, address, subject, body, now=now)


def text_for(user, build):
    """A notification text in the recipient's language (notifications are stored translated)."""
    with in_language_of(user):
        return str(build())


def invalid_message(complaint):
    return (_("Your complaint %(ref)s", ref=complaint.reference),
            _("We have looked into your complaint %(ref)s and could not accept it as a valid "
              "complaint, for this reason:\n\n%(reason)s\n\nIf you disagree, reply to this message "
              "or call us, quoting the reference.", ref=complaint.reference,
              reason=complaint.invalid_reason))
