"""Designation by approval (DESIGN §4.9): sales or quality propose designating a client (with the
criteria: business volume, cooperation potential, industry influence, free text) or withdrawing
it (with the reason); an executive approves or declines with a note. Only an approval changes
``Client.key_account`` (``guard`` refuses every other way); the first designation creates the
programme record (``KeyAccount``). Every step is audited; functions flush, the caller commits."""
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import CallbackTask, KeyAccount, KeyAccountDecision, User
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..complaints.messages import text_for
from ..notifications import notify, notify_role
from .guard import decision_in_progress
from .rules import may_decide, may_propose

TEXT_MAX = 2000
CRITERIA = ("business_volume", "cooperation_potential", "industry_influence")


def _text(fields, name, label, *, required=True):
    value = (fields.get(name) or "").strip()
    if required and not value:
        raise DomainError(_("%(field)s is required.", field=label), field=name)
    if len(value) > TEXT_MAX:
        raise DomainError(_("At most %(n)d characters.", n=TEXT_MAX), field=name)
    return value or None


def _labels():
    return {"business_volume": _("Business volume"), "cooperation_potential": _("Cooperation potential"),
            "industry_influence": _("Industry influence"), "reason": _("Reason")}


def pending_decision(client):
    return db.session.scalar(select(KeyAccountDecision).where(
        KeyAccountDecision.client_id == client.id, KeyAccountDecision.state == "pending"))


def decisions_of(client):
    """The client's proposals and decisions, newest first (the client page's history), with who
    proposed and who decided (one statement)."""
    return db.session.scalars(
        select(KeyAccountDecision).where(KeyAccountDecision.client_id == client.id)
        .options(joinedload(KeyAccountDecision.proposed_by).lazyload(User.role_rows),
                 joinedload(KeyAccountDecision.decided_by).lazyload(User.role_rows))
        .order_by(KeyAccountDecision.proposed_at.desc(), KeyAccountDecision.id.desc())).all()


def account_of(client):
    return db.session.scalar(select(KeyAccount).where(KeyAccount.client_id == client.id))


def propose(client, action, *, actor, now=None, **fields) -> KeyAccountDecision:
    """Propose designating (``designate``: the three criteria required, a free text optional)
    or withdrawing (``withdraw``: the reason required) ``client``. DomainError if the client
    already is (or is not) a key account or a proposal awaits a decision; PermissionError unless
    sales or quality."""
    if not may_propose(actor):
        raise PermissionError(f"{actor!r} may not propose key accounts")
    if action not in ("designate", "withdraw"):
        raise DomainError(_("Unknown step."))
    if action == "designate" and client.key_account:
        raise DomainError(_("This client is a key account already."))
    if action == "withdraw" and not client.key_account:
        raise DomainError(_("This client is not a key account."))
    if pending_decision(client) is not None:
        raise DomainError(_("A proposal for this client awaits an executive's decision."))
    labels = _labels()
    values = {name: _text(fields, name, labels[name], required=action == "designate") for name in CRITERIA}
    values["reason"] = _text(fields, "reason", labels["reason"], required=action == "withdraw")
    now = now or utcnow()
    decision = KeyAccountDecision(client=client, action=action, state="pending", proposed_by_id=actor.id,
                                  proposed_at=now, **values)
    try:
        with db.session.begin_nested():  # the partial unique index: one pending proposal per client
            db.session.add(decision)
    except IntegrityError:
        raise DomainError(_("A proposal for this client awaits an executive's decision.")) from None
    record_event("key_account_proposed", decision, actor=actor,
                 detail={"client": client.id, "action": action, **values})
    link = _client_link(client)
    notify_role("exec", "key_account_proposed",
                lambda user: _("Key account to decide: %(client)s", client=client.name),
                lambda user: (_("%(who)s proposes making %(client)s a key account.", who=actor.display_name,
                                client=client.name) if action == "designate" else
                              _("%(who)s proposes withdrawing the key-account status of %(client)s.",
                                who=actor.display_name, client=client.name)), link=link)
    return decision


def decide(decision, approve, *, actor, note, now=None) -> KeyAccountDecision:
    """An executive approves or declines a pending proposal with a note. An approved designation
    sets the flag and creates the account's programme record (kept, with its history, if it
    existed: its schedule then has to be set again); an approved withdrawal clears the flag and
    ends the account's relationship calls still open. PermissionError unless an executive."""
    if not may_decide(actor):
        raise PermissionError(f"{actor!r} may not decide on key accounts")
    if decision.state != "pending":
        raise DomainError(_("This proposal was decided already."))
    note = _text({"note": note}, "note", _("Note"))
    now = now or utcnow()
    client = decision.client
    before = client.key_account
    decision.state = "approved" if approve else "declined"
    decision.decided_by_id, decision.decided_at, decision.decision_note = actor.id, now, note
    if approve:
        with decision_in_progress():
            client.key_account = decision.action == "designate"
            account = account_of(client)
            if client.key_account and account is None:
                db.session.add(KeyAccount(client=client, designated_at=now))
            elif client.key_account:
                # designated again: the old schedule would catch up every date since it stopped,
                # so the desk sets a fresh one
                account.designated_at, account.callback_every_weeks = now, None
            elif account is not None:
                _end_open_calls(account, now)
            db.session.flush()
    else:
        db.session.flush()
    record_event("key_account_decided", decision, actor=actor,
                 detail={"client": client.id, "action": decision.action, "decision": decision.state,
                         "note": note, "key_account": [before, client.key_account]})
    proposer = decision.proposed_by
    if proposer is not None and proposer.active and proposer.id != actor.id:
        verdict = decision.state
        notify(proposer, f"key_account_{verdict}",
               text_for(proposer, lambda: (_("Key account approved: %(client)s", client=client.name)
                                           if verdict == "approved" else
                                           _("Key account proposal declined: %(client)s", client=client.name))),
               text_for(proposer, lambda: _("%(who)s: %(note)s", who=actor.display_name, note=note)),
               link=_client_link(client))
    return decision


def _end_open_calls(account, now):
    """A withdrawn account's relationship calls still open leave the desk's queue (ended as
    ``withdrawn``; those made stay on the record)."""
    db.session.execute(update(CallbackTask).where(CallbackTask.key_account_id == account.id,
                                                   CallbackTask.state == "open")
                       .values(state="failed", failed_reason="withdrawn", closed_at=now,
                               version=CallbackTask.version + 1))


def _client_link(client):
    return f"/clients/{client.id}"  # the client page: its key-account card and history


def pending_proposals():
    """Every proposal awaiting a decision, oldest first (the executive's home page)."""
    return db.session.scalars(
        select(KeyAccountDecision).where(KeyAccountDecision.state == "pending")
        .options(joinedload(KeyAccountDecision.client),
                 joinedload(KeyAccountDecision.proposed_by).lazyload(User.role_rows))
        .order_by(KeyAccountDecision.proposed_at, KeyAccountDecision.id)).all()
