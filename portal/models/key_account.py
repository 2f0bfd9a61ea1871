"""The key-account programme (DESIGN §4.9): a client becomes (or stops being) a key account only
by a decision, proposed by sales or quality and approved or declined by an executive; an approved
account has a named team, a service plan approved by an executive, and a schedule of relationship
callbacks (the quality desk's tasks, independent of tickets)."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

#: designate: make the client a key account; withdraw: end it
DECISION_ACTIONS = ("designate", "withdraw")
DECISION_STATES = ("pending", "approved", "declined")
#: the named team (DESIGN §4.9): project manager, customer-service contact, on-site engineer, sales
TEAM_ROLES = ("pm", "service_contact", "engineer", "sales")
REPORT_LANGUAGES = ("zh", "en")


class KeyAccountDecision(db.Model):
    """A proposal to designate or withdraw a key account, and the executive's decision on it; the
    client's flag changes only when one is approved (services.key_accounts.decide)."""
    __tablename__ = "key_account_decisions"
    __table_args__ = (
        one_of("action", DECISION_ACTIONS), one_of("state", DECISION_STATES),
        # at most one proposal awaiting a decision per client
        Index("uq_key_account_decisions_pending", "client_id", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    # the criteria (DESIGN §4.9): business volume, cooperation potential, industry influence
    business_volume: Mapped[str | None] = mapped_column(Text)
    cooperation_potential: Mapped[str | None] = mapped_column(Text)
    industry_influence: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # free text (a withdrawal's only criterion)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    client = relationship("Client")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class KeyAccount(db.Model):
    """The programme record of a client once designated (kept after a withdrawal, for its history):
    the team, the service plan and its approval, the relationship-callback schedule."""
    __tablename__ = "key_accounts"
    __table_args__ = (one_of("report_language", REPORT_LANGUAGES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    designated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the named team
    pm_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    service_contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    sales_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # the relationship callbacks: every N weeks from a start date, to this contact, recorded on this project
    callback_every_weeks: Mapped[int | None]
    callback_starts_on: Mapped[date | None]
    callback_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    callback_project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    # the service plan: a text and/or a document, approved by an executive with the agreement date
    plan_text: Mapped[str | None] = mapped_column(Text)
    plan_original_name: Mapped[str | None] = mapped_column(String(255))
    plan_stored_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    plan_content_type: Mapped[str | None] = mapped_column(String(80))
    plan_size: Mapped[int | None]
    plan_sha256: Mapped[str | None] = mapped_column(String(64))
    plan_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    plan_approved_at: Mapped[datetime | None]
    plan_agreed_on: Mapped[date | None]
    #: the language of the client's service report
    report_language: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: optimistic lock: two people editing the team or the schedule at once
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    client = relationship("Client")
    pm = relationship("User", foreign_keys=[pm_id])
    service_contact = relationship("User", foreign_keys=[service_contact_id])
    engineer = relationship("User", foreign_keys=[engineer_id])
    sales = relationship("User", foreign_keys=[sales_id])
    callback_contact = relationship("Contact")
    callback_project = relationship("Project")
    plan_approved_by = relationship("User", foreign_keys=[plan_approved_by_id])

    def team_ids(self) -> set:
        return {i for i in (self.pm_id, self.service_contact_id, self.engineer_id, self.sales_id) if i}
