"""The demo improvement plan (DESIGN §4.8): late on-site arrivals behind two follow-ups and one
complaint, grouped under one plan of the O&M department; its measures were done 35 days ago, so
its 30-day effect check is due. Made through the real services; idempotent by its title."""
from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Complaint, Department, FollowUp, ImprovementPlan, ImprovementPlanItem
from ..services import improvement

TITLE = "夜间与节假日到场不及时专项改进"


def load(projects, users, today):
    if db.session.scalar(select(ImprovementPlan.id).where(ImprovementPlan.title == TITLE)) is not None:
        return ["1 demo improvement plan (0 new)"]
    department = db.session.scalar(select(Department).where(Department.name == "运维服务部"))
    taken = select(ImprovementPlanItem.followup_id).where(ImprovementPlanItem.followup_id.isnot(None))
    followups = db.session.scalars(select(FollowUp).where(FollowUp.id.notin_(taken))
                                   .order_by(FollowUp.id).limit(2)).all()
    complaint = db.session.scalar(select(Complaint).where(Complaint.description.like("%UPS 告警%")))
    if department is None or len(followups) < 2 or complaint is None:
        return ["demo improvement plan skipped (its follow-ups or complaint are missing)"]
    desk = users["quality1"]
    plan = improvement.create_plan(
        actor=desk, items=[*followups, complaint], today=today - timedelta(days=50), title=TITLE,
        goal="夜间和节假日报修的到场时间缩短到 30 分钟以内，相关投诉和低分回访清零。",
        measures="1. 夜班增设二线值班工程师；2. 报修单超过 15 分钟未派工自动升级到值班经理；"
                 "3. 驻场工程师到场后在系统中打卡。",
        root_cause="operations", dimension="timeliness", department=department,
        responsible=users["pm1"], due_on=today - timedelta(days=20))
    improvement.mark_measures_done(plan, actor=users["pm1"], expected_version=plan.version,
                                   on=today - timedelta(days=35), today=today)
    db.session.flush()
    return [f"1 demo improvement plan (1 new): {len(plan.items)} items, "
            f"{sum(1 for c in plan.checks if c.due_on <= today)} check due"]
