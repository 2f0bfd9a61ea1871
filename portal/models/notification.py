"""In-app notifications for portal users (follow-ups, escalations, major problems...)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class Notification(db.Model):
    """One message to one user, already in their language; unread while ``read_at`` is NULL.
    Kinds are open-ended short codes ("followup_overdue", "escalation"...) named by the callers."""
    __tablename__ = "notifications"
    #: the unread count and each user's list (services.notifications)
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))  # a path inside the portal
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    user = relationship("User")

    @property
    def unread(self) -> bool:
        return self.read_at is None
