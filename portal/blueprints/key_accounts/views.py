"""Key-account pages (DESIGN §4.9): the accounts and the proposals awaiting a decision; on the
client page, the key-account card (status, proposal, decision, history); one account's team,
service plan (and its approval) and relationship-callback schedule. Who may do what is the
service's (``services.key_accounts.rules``); views check it and stay thin."""
from types import SimpleNamespace

from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ...authz import access, deny, get_client_or_404
from ...extensions import db
from ...htmx import hx_redirect, is_partial, render
from ...models import CallbackTask, Client, Contact, KeyAccount, KeyAccountDecision, Project, User
from ...navigation import nav_item
from ...services import DomainError
from ...services import key_accounts as service
from ...services.key_accounts.schedule import is_overdue
from ...services.quarters import local_today
from ...services.uploads import scan_path
from .forms import ApprovePlanForm, DecideForm, PlanForm, ProposeForm, ScheduleForm, TeamForm, WithdrawForm

bp = Blueprint("key_accounts", __name__, url_prefix="/key-accounts")
#: who reaches the pages at all; the account decides the rest (its team may hold any of these roles)
STAFF = ("pm", "sales", "quality", "pmo", "exec", "admin")


#: for every staff role: a team member may hold any of them (the list shows only what they may read)
nav_item(31, "key_accounts.index", _l("Key accounts"), roles=STAFF)


# --- the client page's card ------------------------------------------------------------------------

@bp.app_context_processor
def _card_helper():
    return {"key_account_card": key_account_card}


def key_account_card(client, *, propose_form=None, decide_form=None):
    """What the client page's key-account card shows to the signed-in user, with the forms of the
    steps they may take now."""
    decisions = service.decisions_of(client)
    pending = next((d for d in decisions if d.state == "pending"), None)
    user = current_user
    context = {"client": client, "account": service.account_of(client), "pending": pending,
               "history": [d for d in decisions if d.state != "pending"],
               "propose_form": None, "decide_form": None}
    if pending is None and service.may_propose(user):
        action = "withdraw" if client.key_account else "designate"
        context["propose_form"] = propose_form or (
            WithdrawForm(prefix="ka") if action == "withdraw" else ProposeForm(prefix="ka", action="designate"))
    if pending is not None and service.may_decide(user):
        context["decide_form"] = decide_form or DecideForm(prefix="decide")
    return context


def _card(client, status=200, **forms):
    return render("key_accounts/card_page.html", "key_accounts/_client_card.html", status=status,
                  card=key_account_card(client, **forms))


@bp.route("/clients/<int:client_id>/propose", methods=["POST"])
@access(*service.PROPOSERS)
def propose(client_id):
    """Sales (of the client's projects) or quality propose designating the client, or withdrawing it."""
    client = get_client_or_404(client_id)  # 404 if missing, 403 if not a client of yours
    form = (WithdrawForm if client.key_account else ProposeForm)(prefix="ka")
    if not form.validate():
        return _card(client, 422, propose_form=form)
    values = form.values()
    try:
        service.propose(client, values.pop("action"), actor=current_user, **values)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _card(db.session.get(Client, client_id), 422, propose_form=form)
    db.session.commit()
    return _card(client) if is_partial() else hx_redirect(url_for("clients.detail", client_id=client_id))


@bp.route("/decisions/<int:decision_id>/decide", methods=["POST"])
@access(*service.DECIDERS)
def decide(decision_id):
    """An executive approves or declines a proposal, with a note on the record."""
    decision = db.session.get(KeyAccountDecision, decision_id) or abort(404)
    form = DecideForm(prefix="decide")
    if not form.validate():
        return _card(decision.client, 422, decide_form=form)
    try:
        service.decide(decision, form.verdict.data == "approve", actor=current_user, note=form.note.data)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _card(db.session.get(KeyAccountDecision, decision_id).client, 422, decide_form=form)
    db.session.commit()
    client_id = decision.client_id
    return _card(decision.client) if is_partial() else hx_redirect(url_for("clients.detail", client_id=client_id))


# --- the list ----------------------------------------------------------------------------------------

@bp.route("/")
@access(*STAFF)
def index():
    """The key accounts you may read (current ones first) and the proposals awaiting a decision."""
    accounts = db.session.scalars(
        select(KeyAccount).join(Client, Client.id == KeyAccount.client_id).where(service.account_scope(current_user))
        .options(joinedload(KeyAccount.client), joinedload(KeyAccount.pm).lazyload(User.role_rows),
                 joinedload(KeyAccount.sales).lazyload(User.role_rows))
        .order_by(Client.key_account.desc(), Client.name)).all()
    pending = service.pending_proposals() if current_user.has_role(*service.WIDE) else []
    return render("key_accounts/index.html", accounts=accounts, pending=pending)


# --- one account -------------------------------------------------------------------------------------

#: what the account page shows with the account
ACCOUNT_PAGE_LOADS = (joinedload(KeyAccount.client), joinedload(KeyAccount.callback_contact),
                      joinedload(KeyAccount.callback_project),
                      *(joinedload(getattr(KeyAccount, name)).lazyload(User.role_rows)
                        for name in ("pm", "service_contact", "engineer", "sales", "plan_approved_by")))


def get_account_or_404(key_account_id):
    """The account, 404 if missing, 403 unless quality, PMO, exec, admin or its team (audited)."""
    account = db.session.scalar(select(KeyAccount).where(KeyAccount.id == key_account_id)
                                .options(*ACCOUNT_PAGE_LOADS)) or abort(404)
    if not service.can_view(current_user, account):
        deny("key_account", key_account_id=key_account_id)
    return account


def _people():
    """The active users the team is chosen from: PMs, sales, and everyone (one statement)."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).options(selectinload(User.role_rows))
                               .order_by(User.display_name, User.id)).all()
    return {"pm": [u for u in users if u.has_role("pm")], "sales": [u for u in users if u.has_role("sales")],
            "all": users}


def _client_choices(account):
    """The client's contacts and projects, for the schedule's choices."""
    contacts = db.session.scalars(select(Contact).where(Contact.client_id == account.client_id)
                                  .order_by(Contact.name)).all()
    projects = db.session.scalars(select(Project).where(Project.client_id == account.client_id)
                                  .order_by(Project.code)).all()
    return contacts, projects


def _forms(account, failed=None):
    """The forms of the steps the signed-in user may take on ``account`` now."""
    forms = {}
    if account.client.key_account and service.may_manage(current_user):
        forms["team"] = TeamForm(prefix="team")
        forms["team"].fill(account, _people(), False)
        forms["schedule"] = ScheduleForm(prefix="schedule")
        forms["schedule"].fill(account, *_client_choices(account), False)
        forms["plan"] = PlanForm(prefix="plan")
        forms["plan"].fill(account, False)
    if (account.client.key_account and service.may_decide(current_user) and account.plan_approved_at is None
            and (account.plan_text or account.plan_stored_name)):
        forms["approve_plan"] = ApprovePlanForm(prefix="approve_plan")
    for form in forms.values():
        form.version.data = account.version
    if failed is not None:
        forms[failed[0]] = failed[1]
    return forms


def _box(account, status=200, *, failed=None, message=None):
    calls = db.session.scalars(
        select(CallbackTask).where(CallbackTask.key_account_id == account.id)
        .options(joinedload(CallbackTask.contact), joinedload(CallbackTask.assigned_to).lazyload(User.role_rows))
        .order_by(CallbackTask.scheduled_on.desc()).limit(12)).all()
    return render("key_accounts/detail.html", "key_accounts/_box.html", status=status, a=account,
                  forms=_forms(account, failed), message=message, calls=calls, today=local_today(),
                  is_overdue=is_overdue,
                  step_url=lambda step: url_for(f".{step}", key_account_id=account.id),
                  report_url=lambda a: url_for(".report_pdf", key_account_id=a.id))


@bp.route("/<int:key_account_id>")
@access(*STAFF)
def detail(key_account_id):
    """One account: its client, team, service plan, schedule and relationship calls."""
    return _box(get_account_or_404(key_account_id))


def _step(account, name, form, run):
    key_account_id = account.id
    if not form.validate():
        return _box(account, 422, failed=(name, form))
    try:
        run(account, form)
    except service.ChangedMeanwhile as error:
        db.session.rollback()
        return _box(db.session.get(KeyAccount, key_account_id), 409, message=error.message)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _box(db.session.get(KeyAccount, key_account_id), 422, failed=(name, form))
    except PermissionError:
        deny("key_account_step", key_account_id=key_account_id, step=name)
    db.session.commit()
    return _box(account) if is_partial() else hx_redirect(url_for(".detail", key_account_id=key_account_id))


def _bound(form_class, prefix, account, *fill_args):
    form = form_class(prefix=prefix)
    if hasattr(form, "fill"):
        form.fill(account, *fill_args, True)
    return form


@bp.route("/<int:key_account_id>/team", methods=["POST"])
@access(*service.MANAGERS)
def team(key_account_id):
    """Quality or PMO name the account's team."""
    account = get_account_or_404(key_account_id)
    form = _bound(TeamForm, "team", account, _people())
    return _step(account, "team", form, lambda a, f: service.set_team(
        a, actor=current_user, expected_version=f.version.data, **f.values()))


@bp.route("/<int:key_account_id>/schedule", methods=["POST"])
@access(*service.MANAGERS)
def schedule(key_account_id):
    """Quality or PMO set the relationship callbacks (every N weeks) and the report's language."""
    account = get_account_or_404(key_account_id)
    form = _bound(ScheduleForm, "schedule", account, *_client_choices(account))
    return _step(account, "schedule", form, lambda a, f: service.set_schedule(
        a, actor=current_user, expected_version=f.version.data, **f.values()))


@bp.route("/<int:key_account_id>/plan", methods=["POST"])
@access(*service.MANAGERS)
def plan(key_account_id):
    """Quality or PMO write the service plan and/or attach its document (a new approval is needed)."""
    account = get_account_or_404(key_account_id)
    form = _bound(PlanForm, "plan", account)
    upload = request.files.get("plan-file")
    return _step(account, "plan", form, lambda a, f: service.set_plan(
        a, actor=current_user, expected_version=f.version.data, text=f.text.data, upload=upload))


@bp.route("/<int:key_account_id>/plan/approve", methods=["POST"])
@access(*service.DECIDERS)
def approve_plan(key_account_id):
    """An executive approves the service plan, with the date it was agreed with the client."""
    form = ApprovePlanForm(prefix="approve_plan")
    account = get_account_or_404(key_account_id)
    return _step(account, "approve_plan", form, lambda a, f: service.approve_plan(
        a, actor=current_user, expected_version=f.version.data, agreed_on=f.agreed_on.data))


@bp.route("/<int:key_account_id>/plan/document")
@access(*STAFF)
def plan_document(key_account_id):
    """The service plan's document as a download, for whoever may read the account."""
    account = get_account_or_404(key_account_id)
    path = scan_path(SimpleNamespace(stored_name=account.plan_stored_name)) if account.plan_stored_name else None
    if path is None:
        abort(404)
    response = send_file(path, mimetype=account.plan_content_type, as_attachment=True,
                         download_name=account.plan_original_name, max_age=0, conditional=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
