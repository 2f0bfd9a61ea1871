"""PM quarterly rounds, the invitations they send, and the outbox (DESIGN §4.1)."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import LANGUAGES, one_of, utcnow

#: outbox: waiting for a person to copy it; queued: to be e-mailed once its transaction has
#: committed; copied: a PM copied it and sent it themselves; sent: accepted by SMTP;
#: failed: delivery failed (the error is kept) — see services.outbound
OUTBOX_STATUSES = ("outbox", "queued", "copied", "sent", "failed")
#: notification: an e-mail copy of a user's in-app notification (services.notifications);
#: complaint: what a complainant is sent (acknowledgement, judged invalid, the check on its handling)
OUTBOX_KINDS = ("invitation", "reminder", "notification", "complaint")


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
    #: the version of each language variant the round sends (the chosen one among them)
    versions: Mapped[list["RoundVersion"]] = relationship(
        back_populates="round", cascade="all, delete-orphan", lazy="selectin")

    @property
    def languages(self) -> list:
        return sorted((v.language for v in self.versions), key=lambda lang: lang != self.template_version.language)

    def version_for(self, language):
        """The version a contact reading ``language`` gets: that variant, else the chosen version."""
        return next((v.template_version for v in self.versions if v.language == language),
                    self.template_version)


class RoundVersion(db.Model):
    """One language variant's version that a round sends (DESIGN §8: a contact's form follows
    the template's language; the round offers each contact the variant in theirs)."""
    __tablename__ = "round_versions"
    __table_args__ = (UniqueConstraint("round_id", "language"), one_of("language", LANGUAGES))
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"), index=True)

    round: Mapped[SurveyRound] = relationship(back_populates="versions")
    template_version = relationship("TemplateVersion")


class Invitation(db.Model):
    """One contact's single-use link, looked up by the SHA-256 of its token."""
    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("round_id", "contact_id"), one_of("language", LANGUAGES))
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the language variant this contact is sent (their own language when the round has it)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    #: the same token encrypted under a key derived from SECRET_KEY (services.tokens), so the
    #: PM can show and copy the link again; NULL for links issued before it was kept
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_count: Mapped[int] = mapped_column(default=0)
    reminded_count: Mapped[int] = mapped_column(default=0)
    last_sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    #: when the current token was issued (only an explicit "issue a new link" rotates it)
    link_issued_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]  # set when the response is submitted; the link is dead after
    draft: Mapped[dict | None] = mapped_column(JSON)
    draft_saved_at: Mapped[datetime | None]

    round: Mapped[SurveyRound] = relationship(back_populates="invitations")
    contact = relationship("Contact")
    response = relationship("Response", back_populates="invitation", uselist=False)
    messages: Mapped[list["OutboxMessage"]] = relationship(
        back_populates="invitation", order_by="OutboxMessage.id")

    @property
    def version(self):
        """The questionnaire version this contact is sent (its variant in their language)."""
        return self.round.version_for(self.language)

    @property
    def answered(self) -> bool:
        """The contact's response is in: the link is spent and nothing more can be submitted."""
        return self.used_at is not None or self.response is not None

    def attach_response(self, response, now):
        """Make ``response`` this invitation's one answer (services.responses.submit_response)."""
        response.invitation_id = self.id
        response.round_id = self.round_id
        response.contact_id = response.contact_id or self.contact_id
        response.quarter = self.round.quarter
        self.used_at = now
        self.draft = None


class OutboxMessage(db.Model):
    """Every e-mail the portal composes; sent by SMTP when configured, otherwise kept to copy."""
    __tablename__ = "outbox_messages"
    __table_args__ = (one_of("kind", OUTBOX_KINDS), one_of("status", OUTBOX_STATUSES))
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # OUTBOX_KINDS
    to_addr: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="outbox")  # OUTBOX_STATUSES
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    invitation = relationship("Invitation", back_populates="messages")
