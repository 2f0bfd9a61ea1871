"""Complaints from any channel (DESIGN §4.7): who complained about what, the handling steps
from registration to the client being told and the case closed, with evidence files. Every
step is a ComplaintEvent; the time-limit clocks are derived from those events, never stored."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

COMPLAINT_CHANNELS = ("phone", "email", "chat", "social", "letter", "in_person", "survey", "callback", "web_form")
COMPLAINT_STATES = ("registered", "invalid", "accepted", "assigned", "investigated", "remedy_proposed",
                    "approved", "notified", "closed", "reopened")
REMEDY_KINDS = ("apology", "compensation", "rework", "penalty")


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        one_of("channel", COMPLAINT_CHANNELS), one_of("state", COMPLAINT_STATES),
        one_of("remedy_kind", REMEDY_KINDS),
        Index("ix_complaints_state_department_id", "state", "department_id"),
        Index("ix_complaints_created_at_id", "created_at", "id"),  # the list (newest first), a period
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: what the complainant quotes, e.g. TS-2026-00042 (unique, never reused)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(16), default="registered")
    major: Mapped[bool] = mapped_column(default=False)
    #: a complex case gets the longer resolution limit, once the complainant was told so
    complex: Mapped[bool] = mapped_column(default=False)
    # the complainant: a contact on file, or who they said they are
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    complainant_name: Mapped[str | None] = mapped_column(String(120))
    complainant_phone: Mapped[str | None] = mapped_column(String(40))
    complainant_email: Mapped[str | None] = mapped_column(String(254))
    #: the language someone not on file wrote in (the public form's page language): their messages'
    complainant_language: Mapped[str | None] = mapped_column(String(8))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    direction: Mapped[str | None] = mapped_column(String(32))   # settings lists (DESIGN §6)
    problem_type: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    #: the survey answer or callback it was turned from (unique: one click, one complaint)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), index=True, unique=True)
    # handling
    invalid_reason: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    findings: Mapped[str | None] = mapped_column(Text)
    company_fault: Mapped[bool | None]
    responsible_employee: Mapped[str | None] = mapped_column(String(120))
    remedy_kind: Mapped[str | None] = mapped_column(String(16))
    compensation_amount: Mapped[float | None] = mapped_column(Numeric(12, 2))
    remedy: Mapped[str | None] = mapped_column(Text)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    notified_how: Mapped[str | None] = mapped_column(String(12))
    notified_at: Mapped[datetime | None]
    notification: Mapped[str | None] = mapped_column(Text)  # the outcome, the reasons, what the client can do
    reopen_count: Mapped[int] = mapped_column(default=0)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    #: optimistic lock, as on follow-ups
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    contact = relationship("Contact")
    client = relationship("Client")
    project = relationship("Project")
    response = relationship("Response")
    department = relationship("Department")
    owner = relationship("User", foreign_keys=[owner_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    registered_by = relationship("User", foreign_keys=[registered_by_id])
    events: Mapped[list["ComplaintEvent"]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintEvent.id")
    attachments: Mapped[list["ComplaintAttachment"]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintAttachment.id")
    surveys: Mapped[list["ComplaintSurvey"]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintSurvey.id")

    def __repr__(self):
        return f"<Complaint {self.reference} {self.state}>"


class ComplaintEvent(db.Model):
    """One step on a complaint's timeline; ``clock`` marks what it does to the time limits
    (start, first_contact, pause, resume, stop) so the clocks can be recomputed at any time."""
    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    clock: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor = relationship("User")


class ComplaintAttachment(db.Model):
    """Evidence (a recording, a photo, a document), stored like scans outside the web root."""
    __tablename__ = "complaint_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="attachments")


#: how the check on a closed complaint's handling is taken: a link e-mailed to the complainant,
#: or a call by the quality desk (a callback task in the desk's queue)
SURVEY_MODES = ("link", "callback")


class ComplaintSurvey(db.Model):
    """The short ``complaint_followup`` questionnaire issued when a complaint is closed (one per
    closing: a reopened and closed-again complaint gets a new one). Its link is a 256-bit token
    looked up by its SHA-256, kept only encrypted, like an invitation's. It is the *origin* of
    its response (services.responses.submit_response)."""
    __tablename__ = "complaint_surveys"
    __table_args__ = (
        one_of("mode", SURVEY_MODES), one_of("language", ("zh", "en")),
        UniqueConstraint("complaint_id", "closing"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    #: the complaint's reopen_count when it was closed: 0 for the first closing
    closing: Mapped[int] = mapped_column(default=0)
    mode: Mapped[str] = mapped_column(String(12))
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    #: who on the quality desk calls (mode ``callback``), once somebody takes it
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    #: unique: one answer per survey
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), unique=True)

    complaint: Mapped[Complaint] = relationship(back_populates="surveys")
    template_version = relationship("TemplateVersion")
    assigned_to = relationship("User")
    response = relationship("Response")

    @property
    def answered(self) -> bool:
        return self.used_at is not None or self.response_id is not None or self.response is not None

    def attach_response(self, response, now):
        self.response = response
        self.used_at = now
