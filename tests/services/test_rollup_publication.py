"""Publishing a quarter: a revision stores the exact figures and never changes after edits to the
data; publishing again needs a reason and makes a new revision that can be compared with the
first; recipients (PMO, executives, department heads) acknowledge it, once; and the close
dashboard counts down and lists what is missing."""
from datetime import datetime

import pytest

from portal.extensions import db
from portal.models import Department, Notification, RollupRevision
from portal.services import DomainError
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.services.rollup import publication as pub
from portal.services.rollup import rollup
from portal.services.rollup.close import close_status
from portal.services.verification import judge

from .. import factories

QUARTER = "2026Q4"
NOW = datetime(2026, 12, 10, 4, 0)


@pytest.fixture
def world(db):
    quality = factories.user("quality1", roles=("quality",))
    pmo = factories.user("pmo1", roles=("pmo",))
    vp = factories.user("vp1", roles=("exec",))
    head = factories.user("head1", roles=("pm",))
    db.session.add(Department(name="运维服务部", head_id=head.id))
    project = factories.project(pm=head)
    version = factories.template_version()
    forms = []
    for answers in ({"attitude": "满意", "timeliness": "满意", "technical": "9"},
                    {"attitude": "一般", "timeliness": "较满意", "technical": "6"},
                    {"attitude": "很不满意", "timeliness": "不太满意", "technical": "2"}):
        parsed = parse_answers(version, {f"q_{k}": _value(version, k, v) for k, v in answers.items()}, complete=True)
        forms.append(submit_response(version, parsed, channel="paper", project=project, quarter=QUARTER,
                                     entered_by=quality, submitted_at=NOW))
    db.session.commit()
    return dict(quality=quality, pmo=pmo, vp=vp, head=head, project=project, version=version, forms=forms)


def _value(version, code, label_or_raw):
    question = next(q for q in version.questions if q.code == code)
    if question.scale.style != "labels":
        return label_or_raw
    option = next(o for o in question.scale.options if o.label_zh == label_or_raw)
    return str(int(option.value)) if option.value == int(option.value) else str(option.value)


def test_publishing_freezes_the_figures_and_later_edits_never_change_them(world):
    judge(world["forms"][:2], "authentic", actor=world["quality"], now=NOW)
    db.session.commit()
    before = rollup(QUARTER, now=NOW)
    rev = pub.publish(QUARTER, actor=world["quality"], now=NOW)
    db.session.commit()
    stored = dict(rev.figures)
    assert rev.number == 1 and rev.reason is None and rev.published_by_id == world["quality"].id
    assert pub.figures_of(rev).overall == before.overall and pub.figures_of(rev).overall.responses == 2
    # the data changes: the third form is verified, the first rejected
    judge(world["forms"][2:], "authentic", actor=world["quality"], now=NOW)
    judge(world["forms"][:1], "rejected", actor=world["quality"], reason="同一设备重复填写", now=NOW)
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(RollupRevision, rev.id)
    assert again.figures == stored
    assert pub.figures_of(again).overall.responses == 2
    assert rollup(QUARTER, now=NOW).overall.responses == 2  # forms 2 and 3 now
    assert rollup(QUARTER, now=NOW).overall.score != pub.figures_of(again).overall.score


def test_a_published_revision_cannot_be_edited_or_deleted(world):
    judge(world["forms"], "authentic", actor=world["quality"], now=NOW)
    rev = pub.publish(QUARTER, actor=world["quality"], now=NOW)
    db.session.commit()
    rev.figures = {"overall": "made up"}
    with pytest.raises(pub.RevisionFrozen):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(RollupRevision, rev.id))
    with pytest.raises(pub.RevisionFrozen):
        db.session.flush()
    db.session.rollback()


def test_publishing_again_needs_a_reason_and_the_revisions_compare(world):
    judge(world["forms"][:2], "authentic", actor=world["quality"], now=NOW)
    first = pub.publish(QUARTER, actor=world["quality"], now=NOW)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        pub.publish(QUARTER, actor=world["quality"], reason="  ", now=NOW)
    assert refused.value.field == "reason"
    judge(world["forms"][2:], "authentic", actor=world["quality"], now=NOW)
    second = pub.publish(QUARTER, actor=world["quality"], reason="季末最后一周补录的纸质问卷", now=NOW)
    db.session.commit()
    assert (second.number, second.reason) == (2, "季末最后一周补录的纸质问卷")
    changes = pub.differences(pub.figures_of(first), pub.figures_of(second))
    overall = next(c for c in changes if c.section == "overall")
    assert (overall.old_responses, overall.new_responses) == (2, 3)
    assert any(c.section == "by_project" for c in changes)
    assert pub.differences(pub.figures_of(second), pub.figures_of(second)) == []
    assert [r.number for r in pub.revisions(QUARTER)] == [2, 1]


def test_only_quality_publishes_and_not_without_a_verified_form(world):
    with pytest.raises(PermissionError):
        pub.publish(QUARTER, actor=world["pmo"], now=NOW)
    with pytest.raises(DomainError):
        pub.publish(QUARTER, actor=world["quality"], now=NOW)  # all three still pending
    with pytest.raises(DomainError):
        pub.publish("2026Q5", actor=world["quality"], now=NOW)


def test_recipients_are_told_and_each_acknowledges_once(world):
    judge(world["forms"], "authentic", actor=world["quality"], now=NOW)
    rev = pub.publish(QUARTER, actor=world["quality"], now=NOW)
    db.session.commit()
    purposes = {r.user.username: r.purpose for r in rev.recipients}
    assert purposes == {"pmo1": "review", "vp1": "review", "head1": "action"}
    told = {n.user.username for n in db.session.scalars(db.select(Notification).where(
        Notification.kind == "rollup_published"))}
    assert told == {"pmo1", "vp1", "head1"}
    assert [r.revision_id for r in pub.awaiting_acknowledgement(world["vp"])] == [rev.id]
    pub.acknowledge(rev, actor=world["vp"], note="已阅，请运维服务部跟进第三个问卷")
    db.session.commit()
    assert pub.awaiting_acknowledgement(world["vp"]) == []
    with pytest.raises(DomainError):
        pub.acknowledge(rev, actor=world["vp"])
    with pytest.raises(PermissionError):
        pub.acknowledge(rev, actor=world["quality"])
    waiting = {r.user.username for r in rev.recipients if r.acknowledged_at is None}
    assert waiting == {"pmo1", "head1"}


def test_the_close_dashboard_counts_down_and_lists_what_is_missing(world):
    status = close_status(QUARTER, now=NOW)
    assert status.deadline.isoformat() == "2026-12-30" and status.days_left == 20
    missing = {m.code: m.count for m in status.missing}
    assert missing["unverified"] == 3
    assert status.report.overall.responses == 0 and status.preview.overall.responses == 3
    judge(world["forms"], "authentic", actor=world["quality"], now=NOW)
    db.session.commit()
    status = close_status(QUARTER, now=NOW)
    assert "unverified" not in {m.code for m in status.missing}
    pub.publish(QUARTER, actor=world["quality"], now=NOW)
    db.session.commit()
    later = datetime(2026, 12, 12)
    judge(world["forms"][:1], "rejected", actor=world["quality"], reason="代填", now=later)
    db.session.commit()
    status = close_status(QUARTER, now=datetime(2026, 12, 31, 2))
    assert status.days_left == -1
    assert {m.code: m.count for m in status.missing}["changed"] == 1
    assert status.revisions == 1 and status.latest.number == 1
