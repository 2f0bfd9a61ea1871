"""Clients and their contacts: create, update, list. Every change is audited."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import CONTACT_FUNCTIONS, Client, Contact, Project
from ..models.base import utcnow
from . import DomainError
from .audit import record_change, snapshot
from .listing import contains_any, paginate
from .scope import project_scope, visible_clients

CLIENT_FIELDS = ("name", "key_account", "notes")
CONTACT_FIELDS = ("name", "function", "phone", "email", "language", "opted_out", "opted_out_at")
CONTACT_LANGUAGES = ("zh", "en")


def search_clients(user, *, q=None, key_account=None, page=1, per_page=20):
    """The clients ``user`` may see, by name, optionally only (non-)key accounts."""
    stmt = select(Client).options(selectinload(Client.contacts)).order_by(Client.name, Client.id)
    conditions = [visible_clients(user), contains_any(q, Client.name),
                  None if key_account is None else Client.key_account.is_(key_account)]
    return paginate(stmt, page, per_page, conditions)


def client_projects(user, client):
    """The client's projects that ``user`` may see."""
    return db.session.scalars(select(Project).where(Project.client_id == client.id, project_scope(user))
                              .order_by(Project.code)).all()


def _check_name(name, client=None):
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("A name is required."), field="name")
    clash = db.session.scalar(select(Client.id).where(func.lower(Client.name) == name.lower()))
    if clash is not None and (client is None or clash != client.id):
        raise DomainError(_l("A client with this name already exists."), field="name")
    return name


def create_client(name, notes=None):
    """A new client; it becomes a key account only by an approved proposal (services.key_accounts)."""
    client = Client(name=_check_name(name), notes=notes or None)
    db.session.add(client)
    db.session.flush()
    record_change("create", client, after=snapshot(client, CLIENT_FIELDS))
    return client


def update_client(client, name, notes=None):
    """Rename or annotate; the key-account flag is not the client form's (services.key_accounts)."""
    before = snapshot(client, CLIENT_FIELDS)
    client.name = _check_name(name, client)
    client.notes = notes or None
    db.session.flush()
    record_change("update", client, before, snapshot(client, CLIENT_FIELDS))
    return client


def _apply_contact(contact, name, function, phone=None, email=None, language="zh", opted_out=False):
    if not (name or "").strip():
        raise DomainError(_l("A name is required."), field="name")
    if function not in CONTACT_FUNCTIONS:
        raise DomainError(_l("Choose a function."), field="function")
    if language not in CONTACT_LANGUAGES:
        raise DomainError(_l("Choose a language."), field="language")
    contact.name, contact.function = name.strip(), function
    contact.phone, contact.email, contact.language = phone or None, email or None, language
    if opted_out and not contact.opted_out:
        contact.opted_out_at = utcnow()
    elif not opted_out:
        contact.opted_out_at = None
    contact.opted_out = bool(opted_out)


def create_contact(client, **data):
    """Add a contact to ``client``; opting out stamps ``opted_out_at``."""
    contact = Contact(opted_out=False)
    _apply_contact(contact, **data)
    contact.client = client
    db.session.add(contact)
    db.session.flush()
    record_change("create", contact, after={"client_id": client.id, **snapshot(contact, CONTACT_FIELDS)})
    return contact


def update_contact(contact, **data):
    before = snapshot(contact, CONTACT_FIELDS)
    _apply_contact(contact, **data)
    db.session.flush()
    record_change("update", contact, before, snapshot(contact, CONTACT_FIELDS))
    return contact
