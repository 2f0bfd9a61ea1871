"""The record of a sales visit or inquiry (DESIGN §7, §4.2): when and how the sales owner
asked, what it followed, whom they met, the ``sales_visit`` form with its scores, a major
problem and its acknowledgement, and lines for both sides to sign; always with Chinese labels."""
from dataclasses import dataclass
from typing import Optional

from flask_babel import force_locale, format_date, gettext as _

from ...labels import CHANNEL_LABELS, CONTACT_FUNCTION_LABELS, INQUIRY_MODE_LABELS, INQUIRY_TRIGGER_LABELS
from ..sales_inquiries import channel_of
from ..scoring import fmt_score
from .filled_response import ARCHIVE_LOCALE
from .questionnaire import Document, PdfFile, question_item, version_subtitle, when
from .render import render_pdf


@dataclass(frozen=True)
class PersonMet:
    name: str
    function: str               # the function they had at the time of the inquiry
    respondent: bool            # the form holds their answers


@dataclass(frozen=True)
class MajorProblem:
    description: str
    acknowledged: bool
    acknowledgement: tuple      # ((label, value), ...): who, when and their note


@dataclass(frozen=True)
class SalesVisitRecord:
    doc: Document
    people: tuple               # PersonMet, the respondent first
    on_behalf: bool
    form_title: str             # the questionnaire's own title, in its language
    questions: tuple
    score: str
    comment: str                # only when not already shown as a free-text answer
    major_problem: Optional[MajorProblem]
    sales_name: str
    client_name: str


def _day(value) -> str:
    return format_date(value, "yyyy-MM-dd") if value else ""


def _follows(inquiry) -> str:
    """What made the inquiry due: the completion, or the milestone by name and reached date."""
    label = str(INQUIRY_TRIGGER_LABELS.get(inquiry.trigger, inquiry.trigger))
    milestone = inquiry.milestone
    if inquiry.trigger == "milestone" and milestone is not None:
        if milestone.reached_date is None:
            return _("%(trigger)s: %(milestone)s", trigger=label, milestone=milestone.name)
        return _("%(trigger)s: %(milestone)s, reached on %(date)s", trigger=label,
                 milestone=milestone.name, date=_day(milestone.reached_date))
    if inquiry.trigger == "completion" and inquiry.project.end_date is not None:
        return _("%(trigger)s on %(date)s", trigger=label, date=_day(inquiry.project.end_date))
    return label


def _people(inquiry) -> tuple:
    people = [PersonMet(m.contact.name, str(CONTACT_FUNCTION_LABELS.get(m.function, m.function)),
                        m.contact_id == inquiry.respondent_id) for m in inquiry.people_met]
    if not any(p.respondent for p in people) and inquiry.respondent is not None:
        respondent = inquiry.respondent  # always among them when recorded; kept should that change
        people.append(PersonMet(respondent.name, str(CONTACT_FUNCTION_LABELS.get(
            respondent.function, respondent.function)), True))
    return tuple(sorted(people, key=lambda p: not p.respondent))


def _major_problem(inquiry) -> Optional[MajorProblem]:
    if not inquiry.major_problem:
        return None
    acknowledgement = []
    if inquiry.acknowledged_at is not None:
        if inquiry.acknowledged_by is not None:
            acknowledgement.append((_("Acknowledged by"), inquiry.acknowledged_by.display_name))
        acknowledgement.append((_("Acknowledged at"), when(inquiry.acknowledged_at)))
        acknowledgement.append((_("Note"), inquiry.acknowledgement_note or ""))
    return MajorProblem(description=inquiry.major_problem_description or "",
                        acknowledged=inquiry.acknowledged_at is not None,
                        acknowledgement=tuple(acknowledgement))


def sales_visit_context(inquiry) -> SalesVisitRecord:
    """The record of ``inquiry`` as plain data."""
    project = inquiry.project
    response = inquiry.response
    version = response.template_version if response is not None else None
    language = version.template.language if version is not None else ARCHIVE_LOCALE
    questions = ()
    if version is not None:
        answers = {a.question_id: a for a in response.answers}
        questions = tuple(question_item(i, q, language, answers.get(q.id))
                          for i, q in enumerate(version.questions, 1))
    channel = response.channel if response is not None else channel_of(inquiry.mode, inquiry.on_behalf)
    details = (
        (_("Project"), f"{project.code} {project.name}"),
        (_("Client"), project.client.name),
        (_("Project manager"), project.pm.display_name if project.pm else ""),
        (_("Sales owner"), inquiry.sales.display_name),
        (_("Inquiry date"), _day(inquiry.inquired_on)),
        (_("How"), str(INQUIRY_MODE_LABELS.get(inquiry.mode, inquiry.mode))),
        (_("Occasion"), _follows(inquiry)),
        (_("Channel"), str(CHANNEL_LABELS.get(channel, channel))),
        (_("Recorded at"), when(inquiry.created_at)),
    )
    written = "\n\n".join(q.value for q in questions if q.layout == "lines" and q.value)
    comment = response.comment if response is not None and response.comment \
        and response.comment != written else ""
    number = _("Inquiry no. %(id)s", id=inquiry.id)
    subtitle = number if version is None else _("Inquiry no. %(id)s · %(kind)s", id=inquiry.id,
                                                 kind=version_subtitle(version))
    return SalesVisitRecord(
        doc=Document(title=_("Sales visit record"), subtitle=subtitle, language=language,
                     details=details, reference=f"{project.code} · {number}"),
        people=_people(inquiry), on_behalf=inquiry.on_behalf,
        form_title=version.title if version is not None else "", questions=questions,
        score=fmt_score(response.score) if response is not None else "", comment=comment,
        major_problem=_major_problem(inquiry), sales_name=inquiry.sales.display_name,
        client_name=project.client.name)


def render_sales_visit(inquiry) -> PdfFile:
    """The sales visit record as PDF; its labels are Chinese whatever the reader's language."""
    with force_locale(ARCHIVE_LOCALE):
        record = sales_visit_context(inquiry)
        data = render_pdf("pdf/sales_visit.html", record=record, doc=record.doc)
    return PdfFile(f"sales-visit-{inquiry.project.code}-{inquiry.inquired_on.isoformat()}.pdf", data)
