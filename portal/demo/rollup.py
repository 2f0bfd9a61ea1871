"""The demo rollup (issue 13 §8): the past quarter verified (one form rejected, with its reason)
and published, acknowledged by the PMO director and not yet by the VP; the current quarter in
progress — some forms verified, the rest pending, so the close dashboard has items missing and
the preview shows what verification will change; four earlier quarters of imported history and
the year's measurement plan, so the trend and the citation have something to show.

Idempotent: a quarter already published, and forms already judged, are left alone."""
from sqlalchemy import select

from ..extensions import db
from ..models import Response, RollupRevision
from ..models.base import utcnow
from ..services.quarters import quarter_of, shift_quarter
from ..services.rollup import publication
from ..services.verification import judge

REJECTION = "同一设备、同一时间段连续提交了多位联系人的问卷，经电话核实为项目组代填。"


def load(projects, users, today):
    from .history import load_history
    from .measurement import load_measurement_plan
    quality = users["quality1"]
    current = quarter_of(today)
    past = shift_quarter(current, -1)
    lines = load_measurement_plan(quality)
    lines += load_history(quality, [shift_quarter(past, -n) for n in range(4, 0, -1)], projects)
    lines += _verify(past, quality, every=1)
    published = db.session.scalar(select(RollupRevision.id).where(RollupRevision.quarter == past).limit(1))
    if published is None:
        db.session.flush()
        rev = publication.publish(past, actor=quality, now=utcnow())
        pmo = next(r for r in rev.recipients if r.user_id == users["pmo1"].id)
        publication.acknowledge(rev, actor=users["pmo1"], note="已阅。请运维服务部对评分低于 3 分的项目在下季度前完成整改。")
        lines.append(f"{past} published (revision {rev.number}, {len(rev.recipients)} recipients, "
                     f"{1 if pmo.acknowledged_at else 0} acknowledged)")
    lines += _verify(current, quality, every=2)
    return lines


def _verify(quarter, quality, every):
    """Judge the quarter's pending forms: the first rejected, then every ``every``-th authentic."""
    pending = db.session.scalars(select(Response).where(Response.quarter == quarter,
                                                        Response.verification_status == "pending")
                                 .order_by(Response.id)).all()
    already = db.session.scalar(select(Response.id).where(Response.quarter == quarter,
                                                          Response.verification_status != "pending").limit(1))
    if not pending or already is not None:
        return [f"{quarter}: verification left as it is"]
    now = utcnow()
    judge(pending[:1], "rejected", actor=quality, reason=REJECTION, now=now)
    chosen = pending[1::every]
    if chosen:
        judge(chosen, "authentic", actor=quality, now=now)
    return [f"{quarter}: {len(chosen)} forms verified, 1 rejected, {len(pending) - 1 - len(chosen)} pending"]
