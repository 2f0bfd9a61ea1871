from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import LANGUAGES, one_of, utcnow

CONTACT_FUNCTIONS = ("site_admin", "noc_operator", "ops_leader", "procurement",
                     "construction", "project_lead", "department_head")


class Client(db.Model):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_account: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="client", order_by="Contact.name")

    def __repr__(self):
        return f"<Client {self.name}>"


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (one_of("function", CONTACT_FUNCTIONS), one_of("language", LANGUAGES))
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    function: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(back_populates="contacts")

    def __repr__(self):
        return f"<Contact {self.name}>"
