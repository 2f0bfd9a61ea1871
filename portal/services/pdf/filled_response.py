"""The archive copy of a filled response (DESIGN §7, §4.6): channel, who entered it,
verification, answers and scores, always with Chinese labels."""
from dataclasses import dataclass

from flask_babel import force_locale, format_date, gettext as _

from ...labels import CHANNEL_LABELS, VERIFICATION_LABELS
from ..scoring import fmt_score
from .questionnaire import Document, PdfFile, contact_line, question_item, version_subtitle, when
from .render import render_pdf

#: the archive copy's labels are Chinese whoever prints it (the company keeps its archive in
#: Chinese, and every PDF must carry Chinese: DESIGN §7); question texts stay in the template's language
ARCHIVE_LOCALE = "zh"


@dataclass(frozen=True)
class Scan:
    name: str
    size: str
    uploaded_at: str
    sha256: str


@dataclass(frozen=True)
class FilledResponse:
    doc: Document
    questions: tuple
    on_behalf: bool
    verification_code: str      # pending | authentic | rejected
    verification_status: str
    verification: tuple         # ((label, value), ...)
    score: str
    comment: str                # only when not already shown as a free-text answer
    scans: tuple
    archive: tuple              # ((label, value), ...)


def _size(n):
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _entered_by(response):
    if response.entered_by is not None:
        return response.entered_by.display_name
    if response.channel == "online":
        return _("The client, through their own link")
    return ""


def filled_response_context(response) -> FilledResponse:
    """The archive copy of ``response`` as plain data."""
    version = response.template_version
    language = version.template.language
    project = response.project
    answers = {a.question_id: a for a in response.answers}
    questions = tuple(question_item(i, q, language, answers.get(q.id))
                      for i, q in enumerate(version.questions, 1))
    details = (
        (_("Project"), f"{project.code} {project.name}"),
        (_("Client"), project.client.name),
        (_("Contact"), contact_line(response.contact)),
        (_("Quarter"), response.quarter),
        (_("Channel"), str(CHANNEL_LABELS.get(response.channel, response.channel))),
        (_("Entered by"), _entered_by(response)),
        (_("Submitted at"), when(response.submitted_at)),
    )
    verification = []
    if response.verified_by is not None:
        verification.append((_("Verified by"), response.verified_by.display_name))
    if response.verified_at is not None:
        verification.append((_("Verified at"), when(response.verified_at)))
    if response.verification_reason:
        verification.append((_("Reason"), response.verification_reason))
    archive = []
    if response.archived_at is not None:
        archive.append((_("Archived at"), when(response.archived_at)))
    if response.retain_until is not None:
        archive.append((_("Retain until"), format_date(response.retain_until, "yyyy-MM-dd")))
    if response.legal_hold:
        archive.append((_("Legal hold"), _("Yes: must not be disposed of")))
    scans = tuple(Scan(a.original_name, _size(a.size), when(a.uploaded_at), a.sha256[:16])
                  for a in sorted(response.attachments, key=lambda a: a.uploaded_at))
    written = "\n\n".join(q.value for q in questions if q.layout == "lines" and q.value)
    comment = response.comment if response.comment and response.comment != written else ""
    subtitle = _("Archive copy of response no. %(id)s · %(kind)s", id=response.id,
                 kind=version_subtitle(version))
    return FilledResponse(
        doc=Document(title=version.title, subtitle=subtitle, language=language, details=details,
                     reference=_("Archive copy · response no. %(id)s", id=response.id)),
        questions=questions, on_behalf=response.channel == "on_behalf",
        verification_code=response.verification_status,
        verification_status=str(VERIFICATION_LABELS.get(response.verification_status,
                                                         response.verification_status)),
        verification=tuple(verification), score=fmt_score(response.score),
        comment=comment, scans=scans, archive=tuple(archive))


def render_filled_response(response) -> PdfFile:
    """The archive copy as PDF; its labels are Chinese whatever the reader's language."""
    with force_locale(ARCHIVE_LOCALE):
        filled = filled_response_context(response)
        data = render_pdf("pdf/filled_response.html", filled=filled, doc=filled.doc)
    return PdfFile(f"response-{response.id}-{response.project.code}-{response.quarter}.pdf", data)
