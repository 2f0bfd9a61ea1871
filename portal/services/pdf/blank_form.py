"""The blank questionnaire for paper distribution (DESIGN §7); issued to a contact it
names them and carries their link as a QR code."""
from dataclasses import dataclass
from typing import Optional

from flask_babel import force_locale, format_date, gettext as _
from markupsafe import Markup

from ..invitations import current_link
from .qr import qr_svg
from .questionnaire import Document, PdfFile, contact_line, paragraphs, question_item, version_subtitle
from .render import render_pdf


@dataclass(frozen=True)
class BlankForm:
    doc: Document
    intro: tuple                # paragraphs
    questions: tuple
    link: Optional[str] = None
    qr_svg: Optional[Markup] = None


def blank_form_context(version, invitation=None, link=None) -> BlankForm:
    """The questionnaire to print; issued to a contact it names them and carries their link as QR."""
    language = version.template.language
    details = ()
    reference = ""
    if invitation is not None:
        rnd = invitation.round
        project = rnd.project
        details = (
            (_("Project"), f"{project.code} {project.name}"),
            (_("Client"), project.client.name),
            (_("Contact"), contact_line(invitation.contact)),
            (_("Quarter"), rnd.quarter),
            (_("Please reply by"), format_date(rnd.due_date, "yyyy-MM-dd")),
        )
        reference = _("Reference %(ref)s", ref=f"INV-{invitation.id}")
    questions = tuple(question_item(i, q, language) for i, q in enumerate(version.questions, 1))
    return BlankForm(
        doc=Document(title=version.title, subtitle=version_subtitle(version), language=language,
                     details=details, reference=reference),
        intro=paragraphs(version.intro), questions=questions, link=link,
        qr_svg=qr_svg(link) if link else None)


def render_blank_form(version, invitation=None, link=None) -> PdfFile:
    """The blank form as PDF, in the template's language (the client reads it)."""
    with force_locale(version.template.language):
        form = blank_form_context(version, invitation, link)
        data = render_pdf("pdf/blank_form.html", form=form, doc=form.doc)
    if invitation is not None:
        rnd = invitation.round
        name = f"questionnaire-{rnd.project.code}-{rnd.quarter}-{invitation.contact.name}.pdf"
    else:
        name = f"questionnaire-{version.template.name}-v{version.number}.pdf"
    return PdfFile(name, data)


def print_invitation_form(invitation, by_user) -> PdfFile:
    """``invitation``'s form with the contact's live link as QR code (the same link as every
    other copy). DomainError when the link cannot be used (answered, opted out, closed, expired).
    """
    link = current_link(invitation, by_user=by_user)
    return render_blank_form(invitation.version, invitation, link)
