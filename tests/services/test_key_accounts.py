"""Key accounts by approval (DESIGN §4.9): sales or quality propose, only an executive decides, the
flag changes no other way (service, form, shell: the session guard), every step is audited; an
approved account's team, plan (and its approval) and schedule."""
import io
import json
from datetime import date

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Client, KeyAccountDecision, Notification
from portal.services import DomainError
from portal.services import key_accounts as svc
from portal.services.clients import create_client, update_client

CRITERIA = dict(business_volume="年合同额约 1200 万元", cooperation_potential="三期扩容在谈",
                industry_influence="省内交通行业标杆", reason="建议列为重点客户")


@pytest.fixture
def world(make, db):
    people = {name: make.user(f"ka_{name}", roles=(role,)) for name, role in (
        ("sales", "sales"), ("quality", "quality"), ("exec", "exec"), ("pm", "pm"), ("pmo", "pmo"),
        ("admin", "admin"), ("archive", "archive"))}
    client = make.client("杭州城市轨道交通集团")
    people["client"] = client
    people["project"] = make.project(pm=people["pm"], sales=people["sales"], client_=client)
    people["contact"] = make.contact(client, name="王建国")
    return people


def designated(world, db):
    decision = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)
    svc.decide(decision, True, actor=world["exec"], note="同意，纳入重点客户计划")
    db.session.commit()
    return svc.account_of(world["client"])


def audit_actions(db):
    return [a for (a,) in db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id))]


def test_a_proposal_changes_nothing_until_an_executive_approves(world, db):
    decision = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)
    db.session.commit()
    assert decision.state == "pending" and world["client"].key_account is False
    assert svc.account_of(world["client"]) is None
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "key_account_proposed")).all()
    assert told == [world["exec"].id]
    svc.decide(decision, True, actor=world["exec"], note="同意")
    db.session.commit()
    assert world["client"].key_account is True and decision.state == "approved"
    account = svc.account_of(world["client"])
    assert account is not None and account.designated_at == decision.decided_at
    assert {"key_account_proposed", "key_account_decided"} <= set(audit_actions(db))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "key_account_decided"))
    detail = json.loads(event.detail)
    assert detail["key_account"] == [False, True] and detail["note"] == "同意"
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == world["sales"].id)) \
        == "key_account_approved"


def test_a_declined_proposal_leaves_the_flag(world, db):
    decision = svc.propose(world["client"], "designate", actor=world["quality"], **CRITERIA)
    svc.decide(decision, False, actor=world["exec"], note="业务量尚不足")
    db.session.commit()
    assert (decision.state, world["client"].key_account) == ("declined", False)
    assert svc.account_of(world["client"]) is None
    again = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)  # may be proposed again
    assert again.state == "pending"


@pytest.mark.parametrize("who", ["pm", "pmo", "admin", "archive", "exec"])
def test_only_sales_or_quality_propose(world, db, who):
    with pytest.raises(PermissionError):
        svc.propose(world["client"], "designate", actor=world[who], **CRITERIA)


@pytest.mark.parametrize("who", ["sales", "quality", "pm", "pmo", "admin"])
def test_only_an_executive_decides(world, db, who):
    decision = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)
    db.session.commit()
    with pytest.raises(PermissionError):
        svc.decide(decision, True, actor=world[who], note="同意")
    assert world["client"].key_account is False


def test_the_criteria_and_a_note_are_required(world, db):
    for missing in ("business_volume", "cooperation_potential", "industry_influence"):
        with pytest.raises(DomainError) as error:
            svc.propose(world["client"], "designate", actor=world["sales"], **{**CRITERIA, missing: " "})
        assert error.value.field == missing
    decision = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)
    with pytest.raises(DomainError) as error:
        svc.decide(decision, True, actor=world["exec"], note="")
    assert error.value.field == "note"


def test_one_pending_proposal_per_client_and_one_decision_per_proposal(world, db):
    decision = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)
    db.session.commit()
    with pytest.raises(DomainError):
        svc.propose(world["client"], "designate", actor=world["quality"], **CRITERIA)
    db.session.rollback()
    # the database says so too, whatever the service checked before
    db.session.add(KeyAccountDecision(client_id=world["client"].id, action="designate", state="pending",
                                      proposed_by_id=world["quality"].id))
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()
    svc.decide(decision, True, actor=world["exec"], note="同意")
    db.session.commit()
    with pytest.raises(DomainError):
        svc.decide(decision, False, actor=world["exec"], note="改主意")


def test_withdrawing_is_the_same_kind_of_decision(world, db):
    account = designated(world, db)
    with pytest.raises(DomainError):
        svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)  # is one already
    with pytest.raises(DomainError) as error:
        svc.propose(world["client"], "withdraw", actor=world["quality"], reason=" ")
    assert error.value.field == "reason"
    withdrawal = svc.propose(world["client"], "withdraw", actor=world["quality"], reason="合同到期不再续签")
    db.session.commit()
    assert world["client"].key_account is True
    svc.decide(withdrawal, True, actor=world["exec"], note="同意撤销")
    db.session.commit()
    assert world["client"].key_account is False
    assert svc.account_of(world["client"]).id == account.id  # kept, with its history
    assert [d.action for d in svc.decisions_of(world["client"])] == ["withdraw", "designate"]
    with pytest.raises(DomainError):
        svc.set_team(account, actor=world["quality"], expected_version=account.version, pm=world["pm"])


def test_the_flag_is_set_no_other_way(world, db):
    client = world["client"]
    client.key_account = True  # a view, a CLI command, an import or a shell writing the column
    with pytest.raises(svc.FlagChangeRefused):
        db.session.flush()
    db.session.rollback()
    db.session.add(Client(name="直接插入的客户", key_account=True))
    with pytest.raises(svc.FlagChangeRefused):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(TypeError):
        create_client("新客户", key_account=True)  # the service has no such parameter any more
    with pytest.raises(TypeError):
        update_client(client, client.name, key_account=True)
    assert db.session.scalar(select(Client.key_account).where(Client.id == client.id)) is False
    update_client(client, "杭州城市轨道交通集团有限公司", notes="改名")  # other changes go through
    db.session.commit()


# --- the programme of an approved account -----------------------------------------------------

def test_the_team_is_named_with_the_right_roles(world, db, make):
    account = designated(world, db)
    with pytest.raises(DomainError) as error:
        svc.set_team(account, actor=world["quality"], expected_version=account.version, pm=world["sales"])
    assert error.value.field == "pm"
    db.session.rollback()
    engineer = make.user("ka_engineer", roles=("pm",))
    svc.set_team(account, actor=world["quality"], expected_version=account.version, pm=world["pm"],
                 service_contact=world["quality"], engineer=engineer, sales=world["sales"])
    db.session.commit()
    assert account.team_ids() == {world["pm"].id, world["quality"].id, engineer.id, world["sales"].id}
    with pytest.raises(PermissionError):
        svc.set_team(account, actor=world["sales"], expected_version=account.version, pm=world["pm"])
    with pytest.raises(svc.ChangedMeanwhile):
        svc.set_team(account, actor=world["pmo"], expected_version=account.version - 1, pm=None)
    change = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "update",
                                                         AuditEvent.object_type == "KeyAccount")).all()
    assert change and json.loads(change[-1].detail)["pm_id"] == [None, world["pm"].id]


def test_the_plan_needs_an_executive_approval_again_after_a_change(world, db):
    account = designated(world, db)
    with pytest.raises(DomainError):
        svc.approve_plan(account, actor=world["exec"], expected_version=account.version, agreed_on=date(2026, 11, 2))
    pdf = io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    pdf.filename = "服务计划.pdf"
    svc.set_plan(account, actor=world["quality"], expected_version=account.version, text="季度巡检、7×24 值守",
                 upload=pdf)
    db.session.commit()
    assert account.plan_original_name == "服务计划.pdf" and account.plan_content_type == "application/pdf"
    with pytest.raises(PermissionError):
        svc.approve_plan(account, actor=world["quality"], expected_version=account.version, agreed_on=date(2026, 11, 2))
    with pytest.raises(DomainError) as error:
        svc.approve_plan(account, actor=world["exec"], expected_version=account.version, agreed_on=None)
    assert error.value.field == "agreed_on"
    svc.approve_plan(account, actor=world["exec"], expected_version=account.version, agreed_on=date(2026, 11, 2))
    db.session.commit()
    assert account.plan_approved_by_id == world["exec"].id and account.plan_agreed_on == date(2026, 11, 2)
    svc.set_plan(account, actor=world["pmo"], expected_version=account.version, text="季度巡检、7×24 值守、月报")
    assert account.plan_approved_by_id is None and account.plan_agreed_on is None
    bad = io.BytesIO(b"MZ\x90\x00")
    bad.filename = "plan.exe"
    with pytest.raises(DomainError) as error:
        svc.set_plan(account, actor=world["pmo"], expected_version=account.version, upload=bad)
    assert error.value.field == "file"


def test_the_schedule_names_a_contact_and_project_of_the_client(world, db, make):
    account = designated(world, db)
    other = make.project()
    stranger = make.contact(other.client)
    base = dict(actor=world["quality"], every_weeks=4, starts_on=date(2026, 12, 7),
                contact=world["contact"], project=world["project"], today=date(2026, 12, 1))
    for field, change in (("every_weeks", {"every_weeks": 0}), ("every_weeks", {"every_weeks": 53}),
                          ("starts_on", {"starts_on": None}), ("contact", {"contact": stranger}),
                          ("project", {"project": other}), ("report_language", {"report_language": "fr"})):
        with pytest.raises(DomainError) as error:
            svc.set_schedule(account, expected_version=account.version, **{**base, **change})
        assert error.value.field == field
        db.session.rollback()
    svc.set_schedule(account, expected_version=account.version, **{**base, "report_language": "en"})
    db.session.commit()
    assert (account.callback_every_weeks, account.callback_contact_id, account.report_language) == (
        4, world["contact"].id, "en")
    svc.set_schedule(account, expected_version=account.version, actor=world["quality"], every_weeks=None)
    assert account.callback_every_weeks is None


def test_a_withdrawal_ends_the_open_calls_and_a_new_designation_needs_a_new_schedule(world, db):
    from portal.models import CallbackTask
    account = designated(world, db)
    svc.set_schedule(account, actor=world["quality"], expected_version=account.version, every_weeks=2,
                     starts_on=date(2026, 11, 2), contact=world["contact"], project=world["project"],
                     today=date(2026, 11, 20))
    db.session.commit()
    calls = db.session.scalars(select(CallbackTask).where(CallbackTask.key_account_id == account.id)).all()
    assert [c.state for c in calls] == ["open", "open"]  # 2 and 16 November
    withdrawal = svc.propose(world["client"], "withdraw", actor=world["quality"], reason="合同到期")
    svc.decide(withdrawal, True, actor=world["exec"], note="同意")
    db.session.commit()
    db.session.expire_all()
    assert {(c.state, c.failed_reason) for c in calls} == {("failed", "withdrawn")}
    again = svc.propose(world["client"], "designate", actor=world["sales"], **CRITERIA)
    svc.decide(again, True, actor=world["exec"], note="恢复")
    db.session.commit()
    assert account.callback_every_weeks is None  # no catch-up of every date since the withdrawal
