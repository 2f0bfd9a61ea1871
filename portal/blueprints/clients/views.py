"""Clients and contacts. Admin and PMO keep clients; a PM or sales owner may also keep the
contacts of clients they have a project with. PM/sales see only clients of their projects."""
from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access, can_edit_contacts, can_manage_master_data, get_client_or_404
from ...extensions import db
from ...htmx import hx_redirect, render
from ...models import Contact
from ...navigation import nav_item
from ...services import DomainError
from ...services.clients import (client_projects, create_client, create_contact, search_clients,
                                 update_client, update_contact)
from .forms import ClientFilterForm, ClientForm, ContactForm

PROJECT_ROLES = ("pm", "sales", "quality", "pmo", "exec", "admin")
bp = Blueprint("clients", __name__, url_prefix="/clients")
nav_item(30, "clients.index", _l("Clients"), roles=PROJECT_ROLES)


@bp.route("/")
@access(*PROJECT_ROLES)
def index():
    """Clients you may see, searched by name, filtered by key account; htmx gets the results only."""
    form = ClientFilterForm(formdata=request.args)
    results = search_clients(current_user, **form.filters(), per_page=current_app.config["PAGE_SIZE"])
    return render("clients/index.html", "clients/_results.html", form=form, results=results,
                  can_manage=can_manage_master_data(current_user))


@bp.route("/<int:client_id>")
@access(*PROJECT_ROLES)
def detail(client_id):
    """A client with its contacts and the projects of it you may see."""
    client = get_client_or_404(client_id)  # 404 if missing, 403 if none of its projects is yours
    return render("clients/detail.html", client=client, projects=client_projects(current_user, client),
                  can_manage=can_manage_master_data(current_user),
                  can_edit_contacts=can_edit_contacts(current_user, client))


@bp.route("/new", methods=["GET", "POST"])
@access("admin", "pmo")
def create():
    """Create a client; the name must be unique."""
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client = create_client(**form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(_("Client %(name)s was created.", name=client.name), client)
    return _form_page("clients/form.html", "clients/_form.html", form, client=None)


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@access("admin", "pmo")
def edit(client_id):
    """Change a client's name, key-account flag or notes."""
    client = get_client_or_404(client_id)
    form = ClientForm(obj=client)
    if form.validate_on_submit():
        try:
            update_client(client, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(_("Client %(name)s was saved.", name=client.name), client)
    return _form_page("clients/form.html", "clients/_form.html", form, client=client)


@bp.route("/<int:client_id>/contacts/new", methods=["GET", "POST"])
@access("admin", "pmo", "pm", "sales")
def contact_create(client_id):
    """Add a contact person to a client."""
    client = get_client_or_404(client_id, contacts=True)  # 403 unless you may keep its contacts
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = create_contact(client, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(_("Contact %(name)s was added.", name=contact.name), client)
    return _form_page("clients/contact.html", "clients/_contact_form.html", form, client=client, contact=None)


@bp.route("/<int:client_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@access("admin", "pmo", "pm", "sales")
def contact_edit(client_id, contact_id):
    """Change a contact; opting out stamps the time and stops questionnaires to them."""
    client = get_client_or_404(client_id, contacts=True)
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.client_id != client.id:
        abort(404)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        try:
            update_contact(contact, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(_("Contact %(name)s was saved.", name=contact.name), client)
    return _form_page("clients/contact.html", "clients/_contact_form.html", form, client=client, contact=contact)


def _saved(message, client):
    db.session.commit()
    flash(message, "success")
    return hx_redirect(url_for(".detail", client_id=client.id))


def _form_page(page, partial, form, **context):
    """The form as a page, or alone for htmx; 422 when it carries errors."""
    return render(page, partial, status=422 if form.errors else 200, form=form, **context)
