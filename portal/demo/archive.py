"""The demo archive (issue 14 §8): an old quarter (three and a half years back) whose forms were
verified, published, handed over by the PMO and received by the archive long ago, so their three
years are over — one of them on legal hold, a batch of three disposed of with their tombstones,
the rest eligible for disposal. The quarter demo.rollup published is left for the PMO to hand
over (their home page says so): handing its forty-odd forms over renders as many PDFs, which a
newcomer can watch on the job's page.

Everything goes through the real services (hand-over, receipt, hold, disposal) with past dates.
The archive copies (PDFs) are rendered by the job worker once the caller commits; the disposed
forms' copies are never rendered (the job skips disposed forms), so their tombstones carry no
checksum. Idempotent: each step is skipped when its data exists."""
import random
from datetime import datetime, time, timedelta

from sqlalchemy import event, select

from ..extensions import db
from ..models import ArchiveHandover, LegalHold, Notification, Response, Tombstone
from ..services.answers import parse_answers
from ..services.archive import disposal, handover, holds
from ..services.notifications import mark_read
from ..services.quarters import quarter_bounds, quarter_of, shift_quarter
from ..services.responses import submit_response
from ..services.rollup import publication
from ..services.verification import judge

#: the old quarter: this many quarters before the current one (2023Q2 in 2026Q4)
OLD_QUARTERS_BACK = 14
OLD_FORMS = 7
HELD, DISPOSED = 1, (2, 3, 4)  # positions among the old quarter's forms, in id order
OLD_RECEIPT_NOTE = "纸质件已装盒入库（档案柜 B-3）。"
HOLD_REASON = "合同纠纷，法务要求保全"
DISPOSAL_REASON = "保存期满，按档案制度销毁"


def load(projects, users, today):
    # the old quarter first: a savepoint (submitting a form, publishing) after a hand-over in the
    # same transaction would hand its PDF job to the worker before the commit, and it would be lost
    lines = _old_quarter(shift_quarter(quarter_of(today), -OLD_QUARTERS_BACK), projects, users)
    return lines + [f"archive: {shift_quarter(quarter_of(today), -1)} published, left for pmo1 to hand over"]


def _hand_over(quarter, users, when, note, received=timedelta(0)):
    """Hand the published ``quarter`` over at ``when`` and receive it ``received`` later, once."""
    if db.session.scalar(select(ArchiveHandover.id).where(ArchiveHandover.quarter == quarter).limit(1)):
        return [f"archive: {quarter} hand-over left as it is"]
    if handover.latest_revision(quarter) is None or not handover.not_handed_over(quarter):
        return [f"archive: {quarter} not published, nothing handed over"]
    db.session.flush()
    done = handover.hand_over(quarter, actor=users["pmo1"], now=when)
    handover.confirm_receipt(done, actor=users["archive1"], note=note, now=when + received)
    return [f"archive: {quarter} handed over ({done.responses} forms, PDFs rendered by the job worker) "
            f"and received"]


def _old_quarter(quarter, projects, users):
    first, last = quarter_bounds(quarter)
    close = datetime.combine(last, time(9, 0))
    forms = _old_forms(quarter, first, projects, users)
    if handover.latest_revision(quarter) is None:
        db.session.flush()
        judge([f for f in forms if f.verification_status == "pending"], "authentic", actor=users["quality1"],
              now=close + timedelta(days=5))
        _publish_acknowledged(quarter, users, close + timedelta(days=12))
    lines = _hand_over(quarter, users, close + timedelta(days=20), OLD_RECEIPT_NOTE, received=timedelta(days=2))
    db.session.flush()
    forms = db.session.scalars(select(Response).where(Response.quarter == quarter).order_by(Response.id)).all()
    if len(forms) <= max(HELD, *DISPOSED) or forms[0].retain_until is None:
        return lines + [f"archive: {quarter} has too few archived forms for the demo's hold and disposal"]
    lines += _hold(forms[HELD], users["archive1"])
    lines += _dispose([forms[i] for i in DISPOSED], users["archive1"])
    eligible = len(disposal.eligible_ids(quarter=quarter))
    return lines + [f"archive: {quarter} — {len(forms)} forms, kept until {forms[0].retain_until:%Y-%m-%d}, "
                    f"{eligible} eligible for disposal now"]


def _old_forms(quarter, first, projects, users):
    """The old quarter's paper forms (good scores, no comment: no follow-up is opened), once."""
    existing = db.session.scalars(select(Response).where(Response.quarter == quarter).order_by(Response.id)).all()
    if existing:
        return existing
    from .rounds import _current_version
    version = _current_version("pm_quarterly", "zh")
    rng = random.Random(f"archive:{quarter}")
    active = [p for p in projects if p.status == "active"][:3]
    made = []
    for i in range(OLD_FORMS):
        project = active[i % len(active)]
        contacts = [c for c in project.client.contacts if not c.opted_out]
        submitted = datetime.combine(first + timedelta(days=18 + 9 * i), time(10, 0)) + timedelta(minutes=7 * i)
        made.append(submit_response(version, parse_answers(version, _answers(version, rng), complete=True),
                                    channel="paper", project=project, quarter=quarter,
                                    contact=contacts[i % len(contacts)], entered_by=project.pm,
                                    started_at=submitted - timedelta(minutes=12), submitted_at=submitted))
    return made


def _answers(version, rng):
    data = {}
    for q in version.questions:
        if q.scale is not None and q.scale.style == "labels":
            data[f"q_{q.code}"] = f"{rng.choice(sorted((o.value for o in q.scale.options), reverse=True)[:2]):g}"
        elif q.scale is not None:
            data[f"q_{q.code}"] = f"{rng.randint(84, 98)}"
        elif q.type == "choice" and q.choices:
            data[f"q_{q.code}"] = q.choices[0]
    return data


def _publish_acknowledged(quarter, users, when):
    """The old quarter's report, published and acknowledged by everyone it went to, long ago."""
    rev = publication.publish(quarter, actor=users["quality1"], now=when)
    read = when + timedelta(days=3)
    by_id = {u.id: u for u in users.values()}
    for recipient in rev.recipients:
        if recipient.user_id in by_id:
            publication.acknowledge(rev, actor=by_id[recipient.user_id], note="已阅。", now=read)
    for note in db.session.scalars(select(Notification).where(Notification.link == publication.link_of(rev))):
        mark_read(note, note.user, now=read)


def _hold(form, archive):
    if db.session.scalar(select(LegalHold.id).where(LegalHold.response_id == form.id).limit(1)):
        return [f"archive: legal hold on form no. {form.id} left as it is"]
    holds.place_hold(form, actor=archive, reason=HOLD_REASON, now=form.retain_until - timedelta(days=45))
    return [f"archive: form no. {form.id} ({form.quarter}) on legal hold"]


def _dispose(forms, archive):
    quarter = forms[0].quarter
    if db.session.scalar(select(Tombstone.id).where(Tombstone.quarter == quarter).limit(1)):
        return [f"archive: {quarter} disposal left as it is"]
    done = disposal.dispose([f.id for f in forms], actor=archive, reason=DISPOSAL_REASON,
                            now=forms[0].retain_until + timedelta(days=30))

    @event.listens_for(db.session(), "after_commit", once=True)
    def _remove_files(_session):  # after the caller's commit (before it, a rollback would keep the rows)
        disposal.remove_files(done)
    return [f"archive: {done.records} forms of {quarter} disposed of (disposal #{done.id}, tombstones kept)"]
