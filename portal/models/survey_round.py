"""PM quarterly rounds, the invitations they send, and the outbox (DESIGN §4.1)."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class SurveyRound(db.Model):
    __tablename__ = "survey_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)  # '2026Q4'
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    due_date: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    project = relationship("Project")
    template_version = relationship("TemplateVersion")
    created_by = relationship("User")
    invitations: Mapped[list["Invitation"]] = relationship(
        back_populates="round", order_by="Invitation.id")


class Invitation(db.Model):
    """One contact's single-use link. Only the SHA-256 of the token is stored."""
    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("round_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_count: Mapped[int] = mapped_column(default=0)
    reminded_count: Mapped[int] = mapped_column(default=0)
    last_sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    #: when the current token was issued (each showing/sending rotates it; earlier links die)
    link_issued_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]  # set when the response is submitted; the link is dead after
    draft: Mapped[dict | None] = mapped_column(JSON)
    draft_saved_at: Mapped[datetime | None]

    round: Mapped[SurveyRound] = relationship(back_populates="invitations")
    contact = relationship("Contact")
    response = relationship("Response", back_populates="invitation", uselist=False)


class OutboxMessage(db.Model):
    """Every e-mail the portal composes; sent by SMTP when configured, otherwise kept to copy."""
    __tablename__ = "outbox_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # invitation | reminder
    to_addr: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="outbox")  # outbox | sent | failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    invitation = relationship("Invitation")
