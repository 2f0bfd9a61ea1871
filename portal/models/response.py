"""Filled forms, their answers and attached scans (DESIGN §2, §4.6)."""
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

#: how the answers came in; ``email``: a sales inquiry the client answered by e-mail
CHANNELS = ("online", "paper", "phone", "visit", "email", "on_behalf")
VERIFICATION_STATUSES = ("pending", "authentic", "rejected")


class Response(db.Model):
    __tablename__ = "responses"
    __table_args__ = (
        one_of("channel", CHANNELS), one_of("verification_status", VERIFICATION_STATUSES),
        # the quarter's verified responses of a project: what every rollup reads
        Index("ix_responses_quarter_verification_status_project_id",
              "quarter", "verification_status", "project_id"),
        # the forms not handed over yet, by quarter (the PMO's to-do): a handful among thousands
        # a quarter's lowest scores (the home page's list)
        Index("ix_responses_quarter_score", "quarter", "score"),
        Index("ix_responses_quarter_unarchived", "quarter",
              postgresql_where=text("archived_at IS NULL"), sqlite_where=text("archived_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    #: unique: the database itself refuses a second response to one invitation
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    channel: Mapped[str] = mapped_column(String(12))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    score: Mapped[float | None] = mapped_column(Float)  # mean of normalized answers (1–5)
    comment: Mapped[str | None] = mapped_column(Text)  # the free-text opinion/suggestion
    verification_status: Mapped[str] = mapped_column(String(12), default="pending")
    verification_reason: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    #: the last correction of its answers after submission (a flag for verification), and how many
    edited_at: Mapped[datetime | None]
    edit_count: Mapped[int] = mapped_column(default=0, server_default="0")
    #: the archive (DESIGN §4.6): handed over at, kept at least until; read-only from then on
    archived_at: Mapped[datetime | None]
    retain_until: Mapped[datetime | None] = mapped_column(index=True)
    legal_hold: Mapped[bool] = mapped_column(default=False)  # an open LegalHold blocks disposal
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("archive_handovers.id"), index=True)
    #: the archive copy: the filled form's PDF rendered once at hand-over, under a random name
    archive_pdf: Mapped[str | None] = mapped_column(String(80))
    archive_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    archive_pdf_size: Mapped[int | None]
    #: disposed of: the answers, comment, contact and files are gone; a Tombstone tells of it
    disposed_at: Mapped[datetime | None]
    disposal_id: Mapped[int | None] = mapped_column(ForeignKey("disposals.id"))

    template_version = relationship("TemplateVersion")
    project = relationship("Project")
    round = relationship("SurveyRound")
    invitation = relationship("Invitation", back_populates="response")
    contact = relationship("Contact")
    entered_by = relationship("User", foreign_keys=[entered_by_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])
    answers: Mapped[list["Answer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan", lazy="selectin")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="response")


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    raw_value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str | None] = mapped_column(Text)
    is_na: Mapped[bool] = mapped_column(default=False)
    normalized: Mapped[float | None] = mapped_column(Float)  # 1–5, None for N/A and non-scored

    response: Mapped[Response] = relationship(back_populates="answers")
    question = relationship("Question")


class Attachment(db.Model):
    """A scan of a paper form, stored outside the web root under a generated name."""
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    response: Mapped[Response] = relationship(back_populates="attachments")
