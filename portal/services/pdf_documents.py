"""The questionnaire PDFs (DESIGN §7): a blank form for paper distribution and the
archive copy of a filled response.

Each document has a context builder turning ORM objects into plain frozen
dataclasses (templates never see live models) and a ``render_*`` function that
builds and renders it in the document's language.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

import qrcode
import qrcode.constants
from flask_babel import force_locale, format_date, format_datetime, gettext as _
from markupsafe import Markup

from ..labels import CHANNEL_LABELS, CONTACT_FUNCTION_LABELS, TEMPLATE_KIND_LABELS, VERIFICATION_LABELS
from .pdf import render_pdf
from .rounds import reissue_link, survey_link
from .scales import option_label
from .scoring import fmt_score

#: the archive copy is always Chinese (DESIGN §4.6); question texts stay in the template's language
ARCHIVE_LOCALE = "zh"
DATETIME_FORMAT = "yyyy-MM-dd HH:mm xxx"


@dataclass(frozen=True)
class Box:
    """One option printed as a tick box."""
    label: str
    checked: bool = False


@dataclass(frozen=True)
class QuestionItem:
    number: int
    text: str
    required: bool
    layout: str                 # "boxes" (tick one), "number" (write a value), "lines" (free text)
    boxes: tuple = ()
    na: Optional[Box] = None    # the "not applicable" box, when the question allows it
    range_hint: str = ""        # "0–100" for a numeric scale
    value: str = ""             # filled: the number or text given
    score: str = ""             # filled: the normalized 1–5 score, "" if none
    answered: bool = False


@dataclass(frozen=True)
class Document:
    """What a template needs besides its questions: title lines and labelled details."""
    title: str
    subtitle: str
    language: str               # of the question texts (lang attribute, option labels)
    details: tuple = ()         # ((label, value), ...)
    reference: str = ""         # top right of every page


@dataclass(frozen=True)
class BlankForm:
    doc: Document
    intro: tuple                # paragraphs
    questions: tuple
    link: Optional[str] = None
    qr_svg: Optional[Markup] = None


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


@dataclass(frozen=True)
class PdfFile:
    filename: str
    data: bytes


# --- QR code ---------------------------------------------------------------

def qr_matrix(text):
    """The QR modules for ``text`` (medium error correction), quiet zone included."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_svg(text) -> Markup:
    """``text`` as an inline SVG QR code: one path of horizontal runs, nothing to fetch."""
    matrix = qr_matrix(text)
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return Markup(
        f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>')


# --- helpers ---------------------------------------------------------------

def _when(value: Optional[datetime]) -> str:
    """A stored (naive UTC) timestamp in the portal's time zone (Asia/Shanghai by default)."""
    return format_datetime(value, DATETIME_FORMAT) if value else ""


def _paragraphs(text):
    return tuple(p.strip() for p in (text or "").splitlines() if p.strip())


def _options(question, language):
    """(value, label) pairs a question offers, best first; None for a numeric or text question."""
    if question.type in ("scale", "yes_no") and question.scale is not None:
        if question.scale.style == "numeric":
            return None
        return [(o.value, option_label(o, language)) for o in question.scale.options]
    if question.type == "choice":
        return [(c, c) for c in question.choices or []]
    return None


def _question_item(number, question, language, answer=None):
    """One question as plain data; with ``answer`` the chosen box is ticked and scored."""
    answered = answer is not None
    is_na = bool(answered and answer.is_na)
    na = Box(_("Not applicable"), is_na) if question.allow_na and question.type != "text" else None
    common = dict(number=number, text=question.text, required=question.required, na=na,
                  answered=answered)
    score = fmt_score(answer.normalized) if answered and answer.normalized is not None else ""
    options = _options(question, language)
    if options is not None:
        chosen = None
        if answered and not is_na:
            chosen = answer.text_value if question.type == "choice" else answer.raw_value
        boxes = tuple(Box(label, chosen is not None and value == chosen) for value, label in options)
        return QuestionItem(layout="boxes", boxes=boxes, score=score, **common)
    if question.type in ("scale", "yes_no") and question.scale is not None:
        value = f"{answer.raw_value:g}" if answered and answer.raw_value is not None else ""
        hint = f"{question.scale.lo:g}–{question.scale.hi:g}"
        return QuestionItem(layout="number", range_hint=hint, value=value, score=score, **common)
    return QuestionItem(layout="lines", value=(answer.text_value or "") if answered else "", **common)


def _version_subtitle(version):
    return _("%(kind)s · version %(number)s", kind=TEMPLATE_KIND_LABELS.get(version.template.kind,
                                                                              version.template.kind),
             number=version.number)


def _contact_line(contact):
    if contact is None:
        return ""
    function = CONTACT_FUNCTION_LABELS.get(contact.function)
    return _("%(name)s (%(function)s)", name=contact.name, function=function) if function else contact.name


# --- blank questionnaire ---------------------------------------------------

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
            (_("Contact"), _contact_line(invitation.contact)),
            (_("Quarter"), rnd.quarter),
            (_("Please reply by"), format_date(rnd.due_date, "yyyy-MM-dd")),
        )
        reference = _("Reference %(ref)s", ref=f"INV-{invitation.id}")
    questions = tuple(_question_item(i, q, language) for i, q in enumerate(version.questions, 1))
    return BlankForm(
        doc=Document(title=version.title, subtitle=_version_subtitle(version), language=language,
                     details=details, reference=reference),
        intro=_paragraphs(version.intro), questions=questions, link=link,
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
    """Issue ``invitation`` a fresh link and print its form with that link as QR code.

    The raw token exists only at issue, so every print is a new issue and the
    previous link of this invitation stops working. DomainError when no link may
    be issued (answered, opted out, round closed, expired).
    """
    token = reissue_link(invitation, by_user=by_user, reason="print")
    return render_blank_form(invitation.round.template_version, invitation, survey_link(token))


# --- filled response (archive copy) ----------------------------------------

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
    questions = tuple(_question_item(i, q, language, answers.get(q.id))
                      for i, q in enumerate(version.questions, 1))
    details = (
        (_("Project"), f"{project.code} {project.name}"),
        (_("Client"), project.client.name),
        (_("Contact"), _contact_line(response.contact)),
        (_("Quarter"), response.quarter),
        (_("Channel"), str(CHANNEL_LABELS.get(response.channel, response.channel))),
        (_("Entered by"), _entered_by(response)),
        (_("Submitted at"), _when(response.submitted_at)),
    )
    verification = []
    if response.verified_by is not None:
        verification.append((_("Verified by"), response.verified_by.display_name))
    if response.verified_at is not None:
        verification.append((_("Verified at"), _when(response.verified_at)))
    if response.verification_reason:
        verification.append((_("Reason"), response.verification_reason))
    archive = []
    if response.archived_at is not None:
        archive.append((_("Archived at"), _when(response.archived_at)))
    if response.retain_until is not None:
        archive.append((_("Retain until"), format_date(response.retain_until, "yyyy-MM-dd")))
    if response.legal_hold:
        archive.append((_("Legal hold"), _("Yes: must not be disposed of")))
    scans = tuple(Scan(a.original_name, _size(a.size), _when(a.uploaded_at), a.sha256[:16])
                  for a in sorted(response.attachments, key=lambda a: a.uploaded_at))
    written = "\n\n".join(q.value for q in questions if q.layout == "lines" and q.value)
    comment = response.comment if response.comment and response.comment != written else ""
    subtitle = _("Archive copy of response no. %(id)s · %(kind)s", id=response.id,
                 kind=_version_subtitle(version))
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
