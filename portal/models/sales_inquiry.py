"""A sales owner's inquiry with the client after completion or a key milestone (DESIGN §4.2):
how and when it was made, whom the sales owner met, the ``sales_visit`` form it produced, and
a major problem escalated to the executives until one of them acknowledges it."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

INQUIRY_MODES = ("visit", "phone", "email")
#: what made the inquiry due: the project's completion or one of its key milestones
INQUIRY_TRIGGERS = ("completion", "milestone")


class SalesInquiry(db.Model):
    __tablename__ = "sales_inquiries"
    __table_args__ = (
        one_of("mode", INQUIRY_MODES), one_of("trigger", INQUIRY_TRIGGERS),
        # the executives' home: major problems nobody acknowledged yet
        Index("ix_sales_inquiries_major_problem_acknowledged_at", "major_problem", "acknowledged_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    sales_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # who recorded it
    inquired_on: Mapped[date]
    mode: Mapped[str] = mapped_column(String(12))
    trigger: Mapped[str] = mapped_column(String(12))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="SET NULL"))
    #: the answers were given verbally and typed in by the sales owner (channel ``on_behalf``)
    on_behalf: Mapped[bool] = mapped_column(default=False)
    #: the contact whose answers the form holds
    respondent_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    #: unique: one form per inquiry (services.responses.submit_response's origin)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), unique=True)
    major_problem: Mapped[bool] = mapped_column(default=False)
    major_problem_description: Mapped[str | None] = mapped_column(Text)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)
    #: one per opened form: a repeated or double-clicked submit finds the inquiry already there
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project = relationship("Project")
    sales = relationship("User", foreign_keys=[sales_id])
    milestone = relationship("Milestone")
    respondent = relationship("Contact")
    response = relationship("Response")
    acknowledged_by = relationship("User", foreign_keys=[acknowledged_by_id])
    people_met: Mapped[list["InquiryContact"]] = relationship(
        back_populates="inquiry", cascade="all, delete-orphan", order_by="InquiryContact.id")

    @property
    def answered(self) -> bool:
        """Its form is recorded (the origin protocol of submit_response)."""
        return self.response_id is not None or self.response is not None

    def attach_response(self, response, now):
        """Make ``response`` this inquiry's form (services.responses.submit_response)."""
        self.response = response

    @property
    def awaiting_acknowledgement(self) -> bool:
        return self.major_problem and self.acknowledged_at is None

    def __repr__(self):
        return f"<SalesInquiry {self.id} {self.inquired_on}>"


class InquiryContact(db.Model):
    """A client person the sales owner met or spoke to, with their function at the time."""
    __tablename__ = "inquiry_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("sales_inquiries.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    function: Mapped[str] = mapped_column(String(32))

    inquiry: Mapped[SalesInquiry] = relationship(back_populates="people_met")
    contact = relationship("Contact", lazy="joined")  # always shown with its row
