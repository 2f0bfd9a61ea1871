"""The three-year archive's rules (issue 14): the hand-over after publication with its PDF copies
and receipt; archived forms read-only in the services, the ORM and the database itself; legal
holds; disposal refused before the date and under hold, all or nothing, leaving tombstones and
the audit, with the content gone from the database file; `flask archive-report`."""
import hashlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from portal.extensions import db
from portal.models import (Answer, AuditEvent, FollowUp, FollowUpEvent, Job, LegalHold,
                           Response, Tombstone)
from portal.models.archive_guard import MESSAGE
from portal.services import DomainError
from portal.services.answers import parse_answers
from portal.services.archive import ArchivedRecord, copies, disposal, handover, holds
from portal.services.archive.overview import archive_report, flags_of
from portal.services.responses import submit_response
from portal.services.rollup import publication as pub
from portal.services.uploads import ScanUpload, scan_path
from portal.services.verification import judge
from portal.services.verification.corrections import correct_answers

from .. import factories
from ..pdftools import embedded_cjk_fonts, text as pdf_text

QUARTER = "2026Q3"
HANDED = datetime(2026, 10, 15, 9, 0)
AFTER = datetime(2029, 10, 16)          # past every form's three years
SECRET = "秘密意见ZQX-7781：机房空调漏水"
ADDRESS, BROWSER = "203.0.113.77", "DisposalProbe/1.0"
PNG = b"\x89PNG\r\n\x1a\n" + b"scan-of-the-paper-form" * 20


class World:
    def __init__(self):
        self.quality = factories.user("quality1", roles=("quality",))
        self.pmo = factories.user("pmo1", roles=("pmo",))
        self.archive = factories.user("archive1", roles=("archive",))
        self.admin = factories.user("admin1", roles=("admin",))
        pm = factories.user("pm1", roles=("pm",))
        self.project = factories.project(pm=pm, code="P-ARC", name="档案测试项目")
        self.contact = factories.contact(self.project.client, name="王建国")
        version = factories.template_version()
        self.forms = []
        for i, answers in enumerate(({"q_attitude": "1", "q_timeliness": "2", "q_technical": "3", "q_opinion": SECRET},
                                     {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9"},
                                     {"q_attitude": "4", "q_timeliness": "4", "q_technical": "8"})):
            self.forms.append(submit_response(
                version, parse_answers(version, answers, complete=True), channel="paper" if i else "online",
                project=self.project, quarter=QUARTER, contact=self.contact if i == 0 else None,
                entered_by=None if i == 0 else self.quality, client_ip=ADDRESS if i == 0 else None,
                user_agent=BROWSER if i == 0 else None, submitted_at=datetime(2026, 8, 5 + i),
                scan=ScanUpload(PNG, "image/png", "scan.png") if i == 1 else None))
        db.session.commit()
        judge(self.forms, "authentic", actor=self.quality)
        db.session.commit()

    def publish(self):
        pub.publish(QUARTER, actor=self.quality)
        db.session.commit()

    def hand_over(self):
        self.publish()
        done = handover.hand_over(QUARTER, actor=self.pmo, now=HANDED)
        db.session.commit()
        db.session.expire_all()
        return done


@pytest.fixture
def world(db, app):
    with app.test_request_context(headers={"Accept-Language": "en"}):  # the messages matched below
        yield World()


# --- hand-over -------------------------------------------------------------------------------------

def test_hand_over_needs_a_publication_and_the_pmo(world):
    with pytest.raises(DomainError, match="not published"):
        handover.hand_over(QUARTER, actor=world.pmo)
    world.publish()
    with pytest.raises(DomainError, match="PMO"):
        handover.hand_over(QUARTER, actor=world.quality)
    assert db.session.scalar(db.select(db.func.count(Response.id)).where(Response.archived_at.is_not(None))) == 0


def test_hand_over_archives_every_form_renders_each_pdf_once_and_the_archive_receives(world):
    done = world.hand_over()
    forms = db.session.scalars(db.select(Response).order_by(Response.id)).all()
    assert all(f.archived_at == HANDED and f.retain_until == datetime(2029, 10, 15, 9, 0) for f in forms)
    assert all(f.handover_id == done.id for f in forms) and done.responses == 3
    job = db.session.get(Job, done.job_id)
    assert job.state == "done" and job.result["rendered"] == 3, job.error
    for form in forms:
        path = copies.copy_path(form.archive_pdf)
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == form.archive_pdf_sha256 and len(data) == form.archive_pdf_size
        assert copies.read_copy(form) == data
    first = copies.read_copy(forms[0])
    assert embedded_cjk_fonts(first) and "档案测试项目" in pdf_text(first) and "2029-10-15" in pdf_text(first)
    with pytest.raises(DomainError, match="handed over already"):
        handover.hand_over(QUARTER, actor=world.pmo)
    with pytest.raises(DomainError, match="archive"):
        handover.confirm_receipt(done, actor=world.pmo)
    handover.confirm_receipt(done, actor=world.archive, note="纸质件已入柜")
    db.session.commit()
    assert done.received_by_id == world.archive.id and done.receipt_note == "纸质件已入柜"
    with pytest.raises(DomainError, match="received"):
        handover.confirm_receipt(done, actor=world.archive)
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"archive_handed_over", "archive_received"} <= actions


def test_retention_is_never_below_the_policy(world, monkeypatch):
    monkeypatch.setattr(handover, "get_setting", lambda key: 1)
    assert handover.retention_years() == 3
    assert handover.add_years(datetime(2028, 2, 29), 3) == datetime(2031, 2, 28)


def test_a_changed_copy_on_disk_is_reported_not_served(world):
    world.hand_over()
    form = db.session.get(Response, world.forms[1].id)
    path = copies.copy_path(form.archive_pdf)
    path.write_bytes(path.read_bytes()[:-10] + b"tampered!!")
    with pytest.raises(copies.CopyDamaged, match="does not match"):
        copies.read_copy(form, actor=world.archive)
    db.session.commit()
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "archive_copy_damaged"))


# --- read-only ---------------------------------------------------------------------------------------

def test_the_services_refuse_to_change_an_archived_form(world):
    world.hand_over()
    form = db.session.get(Response, world.forms[2].id)
    with pytest.raises(ArchivedRecord, match="read-only"):
        judge([form], "rejected", actor=world.quality, reason="补判")
    db.session.rollback()
    with pytest.raises(ArchivedRecord):
        correct_answers(form, {"q_attitude": "1", "q_timeliness": "1", "q_technical": "1"}, actor=world.quality,
                        reason="改")
    db.session.rollback()
    form = db.session.get(Response, world.forms[2].id)
    assert form.verification_status == "authentic" and form.edit_count == 0


@pytest.mark.parametrize("change", [
    "score", "comment", "quarter", "answer", "answer_delete", "answer_new", "scan_delete", "delete", "retain_until",
    "followup_event",
])
def test_the_orm_refuses_every_change_to_an_archived_form(world, change):
    world.hand_over()
    form = db.session.get(Response, world.forms[0].id if change in ("comment", "followup_event") else world.forms[1].id)
    if change == "score":
        form.score = 5.0
    elif change == "comment":
        form.comment = "改过的意见"
    elif change == "quarter":
        form.quarter = "2026Q4"
    elif change == "retain_until":
        form.retain_until = datetime(2027, 1, 1)
    elif change == "answer":
        form.answers[0].raw_value = 1
    elif change == "answer_delete":
        db.session.delete(form.answers[0])
    elif change == "answer_new":
        db.session.add(Answer(response_id=form.id, question_id=form.answers[0].question_id + 100, raw_value=1))
    elif change == "scan_delete":
        db.session.delete(form.attachments[0])
    elif change == "delete":
        db.session.delete(form)
    elif change == "followup_event":
        event = db.session.scalars(db.select(FollowUpEvent).join(FollowUp).where(FollowUp.response_id == form.id)).first()
        event.note = "改写历史"
    with pytest.raises(ArchivedRecord):
        db.session.flush()
    db.session.rollback()


def test_a_followup_of_an_archived_form_goes_on(world):
    """Its past steps are fixed, but the loop is not frozen: a new step can still be added."""
    world.hand_over()
    followup = db.session.scalar(db.select(FollowUp).where(FollowUp.response_id == world.forms[0].id))
    db.session.add(FollowUpEvent(followup_id=followup.id, action="note", from_state=followup.state,
                                 to_state=followup.state, note="归档后继续跟进"))
    db.session.commit()


@pytest.mark.parametrize("statement", [
    "UPDATE responses SET score = 1 WHERE id = :id",
    "UPDATE responses SET comment = 'x' WHERE id = :id",
    "DELETE FROM responses WHERE id = :id",
    "UPDATE answers SET raw_value = 1 WHERE response_id = :id",
    "DELETE FROM answers WHERE response_id = :id",
    "DELETE FROM attachments WHERE response_id = :id",
    "UPDATE responses SET legal_hold = true WHERE id = :id",  # allowed: followed by a disposal under hold
])
def test_the_database_refuses_sql_that_bypasses_the_orm(world, statement):
    world.hand_over()
    form_id = world.forms[1].id
    if "legal_hold" in statement:
        db.session.execute(text(statement), {"id": form_id})
        statement = "UPDATE responses SET disposed_at = CURRENT_TIMESTAMP WHERE id = :id"
    with pytest.raises(DatabaseError, match=MESSAGE):
        db.session.execute(text(statement), {"id": form_id})
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Answer.id)).where(Answer.response_id == form_id)) == 3


def test_flask_shell_cannot_change_an_archived_form(world, app):
    """The command line goes through the same guard: a script piped into `flask shell`."""
    world.hand_over()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "PORTAL_INSTANCE_PATH": app.instance_path,
           "FLASK_APP": "wsgi", "SECRET_KEY": "x" * 32}
    script = (f"from portal.models import Response\nr = db.session.get(Response, {world.forms[1].id})\n"
              "r.score = 5.0\ndb.session.commit()\n")
    ran = subprocess.run([sys.executable, "-m", "flask", "shell"], input=f"from portal.extensions import db\n{script}",
                         capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert "ArchivedRecord" in ran.stderr and "read-only" in ran.stderr, ran.stderr[-2000:]
    db.session.expire_all()
    assert db.session.get(Response, world.forms[1].id).score != 5.0


# --- legal hold ---------------------------------------------------------------------------------------

def test_legal_hold_needs_a_reason_and_is_kept_when_lifted(world):
    world.hand_over()
    form = db.session.get(Response, world.forms[1].id)
    with pytest.raises(DomainError, match="reason"):
        holds.place_hold(form, actor=world.archive, reason=" ")
    with pytest.raises(DomainError, match="archive or the PMO"):
        holds.place_hold(form, actor=world.quality, reason="诉讼")
    holds.place_hold(form, actor=world.pmo, reason="合同纠纷，法务要求保全")
    db.session.commit()
    assert form.legal_hold and flags_of(form, AFTER) == ("archived", "hold")
    holds.lift_hold(form, actor=world.archive, reason="纠纷已结案")
    db.session.commit()
    hold = db.session.scalar(db.select(LegalHold))
    assert hold.lifted_by_id == world.archive.id and hold.lift_reason == "纠纷已结案" and not form.legal_hold
    assert flags_of(form, AFTER) == ("archived", "eligible")


# --- disposal -------------------------------------------------------------------------------------------

def test_disposal_is_refused_before_the_date_under_hold_and_for_the_whole_batch(world):
    world.hand_over()
    ids = [f.id for f in world.forms]
    answers = db.session.scalar(db.select(db.func.count(Answer.id)))
    with pytest.raises(DomainError, match="kept until 2029-10-15"):
        disposal.dispose(ids, actor=world.archive, reason="到期", now=datetime(2029, 10, 14))
    db.session.rollback()
    holds.place_hold(db.session.get(Response, ids[2]), actor=world.archive, reason="审计抽查")
    db.session.commit()
    with pytest.raises(DomainError, match=f"form no. {ids[2]} is on legal hold"):
        disposal.dispose(ids, actor=world.archive, reason="到期", now=AFTER)
    db.session.rollback()
    with pytest.raises(DomainError, match="archive"):
        disposal.dispose(ids[:2], actor=world.pmo, reason="到期", now=AFTER)
    with pytest.raises(DomainError, match="reason"):
        disposal.dispose(ids[:2], actor=world.archive, reason="", now=AFTER)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Response.id)).where(Response.disposed_at.is_not(None))) == 0
    assert db.session.scalar(db.select(db.func.count(Answer.id))) == answers == 10
    assert disposal.eligible_ids(AFTER) == ids[:2]


def test_disposal_removes_the_content_and_keeps_tombstones_and_the_audit(world):
    world.hand_over()
    forms = [db.session.get(Response, f.id) for f in world.forms]
    files = [copies.copy_path(f.archive_pdf) for f in forms] + [scan_path(forms[1].attachments[0])]
    digests = [f.archive_pdf_sha256 for f in forms]
    batch, _ = disposal.prepare([f.id for f in forms[:2]], AFTER)
    assert batch.count == 2 and batch.oldest == datetime(2026, 8, 5) and batch.newest == datetime(2026, 8, 6)
    done = disposal.dispose([f.id for f in forms[:2]], actor=world.archive, reason="保存期满", now=AFTER)
    db.session.commit()
    disposal.remove_files(done)
    db.session.expire_all()
    first, second, kept = (db.session.get(Response, f.id) for f in world.forms)
    for gone in (first, second):
        assert gone.disposed_at == AFTER and gone.answers == [] and gone.attachments == []
        assert gone.comment is None and gone.contact_id is None and gone.client_ip is None and gone.archive_pdf is None
    assert len(kept.answers) == 3 and kept.disposed_at is None and files[2].is_file()
    assert not files[0].exists() and not files[1].exists() and not files[3].exists()
    stones = db.session.scalars(db.select(Tombstone).order_by(Tombstone.response_id)).all()
    assert [(t.response_id, t.quarter, t.project_id, t.pdf_sha256) for t in stones] == [
        (first.id, QUARTER, world.project.id, digests[0]), (second.id, QUARTER, world.project.id, digests[1])]
    assert stones[0].submitted_at == datetime(2026, 8, 5) and stones[0].disposal.reason == "保存期满"
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "archive_disposed"))
    assert event.user_id == world.archive.id and '"records": 2' in event.detail
    details = db.session.scalars(db.select(AuditEvent.detail).where(
        AuditEvent.object_type == "Response", AuditEvent.object_id == str(first.id))).all()
    assert details and all(d == disposal.REDACTED for d in details)
    followup = db.session.scalar(db.select(FollowUp).where(FollowUp.response_id == first.id))
    assert followup is not None and SECRET not in str(followup.triggers)
    with pytest.raises(DomainError, match="disposed of already"):
        disposal.dispose([first.id], actor=world.archive, reason="再来", now=AFTER)
    db.session.rollback()
    first = db.session.get(Response, world.forms[0].id)
    first.comment = "复活"
    with pytest.raises(ArchivedRecord):
        db.session.flush()
    db.session.rollback()


def test_the_sweep_removes_copies_no_form_points_at_and_keeps_a_running_jobs(world):
    """A disposal killed after its commit leaves its forms' copies (tests/faults/test_kill.py):
    they go at once, known by their tombstones' sha256. A copies job records its files at its
    end: an unrecorded fresh file is kept, one a day old (its job killed) goes. Recorded copies
    always stay."""
    world.hand_over()
    forms = [db.session.get(Response, f.id) for f in world.forms]
    files = [copies.copy_path(f.archive_pdf) for f in forms]
    done = disposal.dispose([forms[0].id], actor=world.archive, reason="保存期满", now=AFTER)
    db.session.commit()  # ... and killed here: remove_files never ran
    assert files[0].is_file()
    folder = copies.archive_folder()
    running = folder / ("a" * 32 + ".pdf")   # a copies job still rendering
    killed = folder / ("b" * 32 + ".pdf")    # one killed yesterday
    running.write_bytes(b"%PDF-1.7 being written")
    killed.write_bytes(b"%PDF-1.7 never recorded")
    day_old = killed.stat().st_mtime - disposal.ORPHAN_GRACE.total_seconds() - 60
    os.utime(killed, (day_old, day_old))
    assert disposal.sweep_orphan_copies() == 2
    assert not files[0].exists() and not killed.exists()
    assert running.exists() and files[1].is_file() and files[2].is_file()
    assert disposal.sweep_orphan_copies() == 0
    assert done.records == 1


def test_disposed_content_is_not_left_in_the_database_file(world, app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("reads the SQLite file; PostgreSQL's storage is the server's (VACUUM, not a file we own)")
    path = Path(url.removeprefix("sqlite:///"))

    def on_disk():
        """The file and its log as bytes, read by another process: a close() of the database
        file in this one would drop every POSIX lock SQLite holds on it here (SQLite's "how to
        corrupt" 2.2), and the next process to close its connection would take itself for the
        last one and delete the log under this process's open connections: "disk I/O error"."""
        disposal.scrub()
        script = ("import sys\nfrom pathlib import Path\n"
                  "sys.stdout.buffer.write(b''.join(p.read_bytes() for p in map(Path, sys.argv[1:]) if p.exists()))")
        return subprocess.run([sys.executable, "-c", script, str(path), f"{path}-wal"], capture_output=True,
                              check=True, timeout=60).stdout

    world.hand_over()
    needles = [SECRET.encode(), ADDRESS.encode(), BROWSER.encode()]
    assert all(n in on_disk() for n in needles)  # there before: the test can see it
    done = disposal.dispose([world.forms[0].id], actor=world.archive, reason="保存期满", now=AFTER)
    db.session.commit()
    disposal.remove_files(done)
    data = on_disk()
    assert [n for n in needles if n in data] == []
    assert str(world.forms[0].id).encode() in data  # the tombstone is there


def test_the_archive_report_lists_what_becomes_eligible(world, runner):
    world.hand_over()
    holds.place_hold(db.session.get(Response, world.forms[2].id), actor=world.archive, reason="审计")
    db.session.commit()
    report = archive_report(now=datetime(2029, 8, 1), days=90)
    assert report.eligible_now == 0 and report.on_hold == 1 and report.archived == 3
    assert [(u.quarter, u.count) for u in report.upcoming] == [(QUARTER, 2)]
    assert archive_report(now=datetime(2029, 6, 1), days=90).upcoming == ()
    out = runner.invoke(args=["archive-report", "--days", "2000"])
    assert out.exit_code == 0, out.output
    assert f"{QUARTER}: 2 forms, from 2029-10-15" in out.output and "On legal hold: 1 forms" in out.output


def test_the_triggers_let_forms_not_archived_change(world):
    """The guard refuses only archived forms: before the hand-over an answer, a scan and the form
    itself change as written (a PostgreSQL BEFORE trigger that returned the old row would keep it)."""
    form_id = world.forms[1].id
    db.session.execute(text("UPDATE answers SET raw_value = 2 WHERE response_id = :id"), {"id": form_id})
    db.session.execute(text("UPDATE responses SET comment = 'changed' WHERE id = :id"), {"id": form_id})
    db.session.commit()
    assert set(db.session.scalars(db.select(Answer.raw_value).where(Answer.response_id == form_id))) == {2}
    assert db.session.scalar(db.select(Response.comment).where(Response.id == form_id)) == "changed"
