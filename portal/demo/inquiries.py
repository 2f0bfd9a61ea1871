"""Demo sales inquiries (DESIGN §4.2), recorded through the real service: forms filled on the
client's behalf (one with low scores, so it opens a follow-up), a visit with good scores, a
major problem still waiting for an executive and an older one an executive acknowledged.
Each has a fixed submission key, so a second run finds it and records nothing."""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Optional

from ..models.base import utcnow
from ..services.major_problems import acknowledge
from ..services.sales_inquiries import (InquiryInput, contacts_for_inquiry, inquiry_by_key,
                                        inquiry_versions, record_inquiry, triggers_of)

KEY_LOW_ON_BEHALF = "demo-inquiry-01"
KEY_SUGGESTION_ON_BEHALF = "demo-inquiry-02"
KEY_GOOD_VISIT = "demo-inquiry-03"
KEY_MAJOR_OPEN = "demo-inquiry-04"
KEY_MAJOR_ACKNOWLEDGED = "demo-inquiry-05"

SCORED = ("attitude", "timeliness", "technical", "communication", "resolution", "documentation",
          "overall")


@dataclass(frozen=True)
class DemoInquiry:
    key: str
    project: int               # index of the demo project; its sales owner records the inquiry
    trigger: str               # "completion", or "milestone": the latest key milestone reached
    days_ago: int              # inquired that many days before today (never before the trigger)
    mode: str
    on_behalf: bool
    respondent: str            # function of the client contact whose answers the form holds
    met: tuple = ()            # functions of the other people met
    scores: dict = field(default_factory=dict)  # question code -> raw value of sat5_b (5 = 很满意)
    cooperation: str = "愿意"
    opinion: Optional[str] = None
    major_problem: Optional[str] = None
    acknowledgement: Optional[str] = None       # an executive's note, the day after


DEMO_INQUIRIES = (
    DemoInquiry(
        KEY_LOW_ON_BEHALF, project=4, trigger="milestone", days_ago=2, mode="phone", on_behalf=True,
        respondent="ops_leader", met=("site_admin",),
        scores={"attitude": 4, "timeliness": 2, "technical": 4, "communication": 3, "resolution": 3,
                "documentation": 4, "overall": 3},
        cooperation="视情况而定",
        opinion="机房搬迁割接比原计划推迟了两周，期间进度通报不及时；割接后还有几条存储告警拖了"
                "三天才处理完，希望后续阶段加强沟通和响应。"),
    DemoInquiry(
        KEY_SUGGESTION_ON_BEHALF, project=0, trigger="milestone", days_ago=20, mode="visit",
        on_behalf=True, respondent="department_head", met=("ops_leader", "procurement"),
        scores={"attitude": 5, "timeliness": 4, "technical": 5, "communication": 4, "resolution": 4,
                "documentation": 4, "overall": 4},
        opinion="希望月度巡检报告增加设备负载和存储容量的趋势分析，方便我们做明年的扩容预算。"),
    DemoInquiry(
        KEY_GOOD_VISIT, project=10, trigger="completion", days_ago=50, mode="visit", on_behalf=False,
        respondent="project_lead", met=("construction", "procurement"),
        scores={"attitude": 5, "timeliness": 5, "technical": 4, "communication": 5, "resolution": 4,
                "documentation": 4, "overall": 5}),
    DemoInquiry(
        KEY_MAJOR_OPEN, project=8, trigger="milestone", days_ago=4, mode="visit", on_behalf=False,
        respondent="department_head", met=("ops_leader", "noc_operator"),
        scores={"attitude": 3, "timeliness": 1, "technical": 3, "communication": 2, "resolution": 2,
                "documentation": "na", "overall": 2},
        cooperation="视情况而定",
        opinion="核心交换机故障处理太慢，备件迟迟不到，希望贵公司领导高度重视。",
        major_problem="上周生产网核心交换机板卡故障，备件 6 小时后才到场，手机银行交易中断约 40 分钟。"
                      "客户科技部总经理要求我司高层本周内到行里说明原因和整改方案，并表示将重新评估"
                      "明年的维保合同。"),
    DemoInquiry(
        KEY_MAJOR_ACKNOWLEDGED, project=3, trigger="completion", days_ago=120, mode="visit",
        on_behalf=False, respondent="department_head", met=("site_admin", "project_lead"),
        scores={"attitude": 3, "timeliness": 2, "technical": 3, "communication": 3, "resolution": 2,
                "documentation": 3, "overall": 2},
        cooperation="视情况而定",
        opinion="安全运营期间有一条高危告警没有及时上报，希望加强值守和上报流程。",
        major_problem="7 月一条勒索病毒高危告警未在约定的 15 分钟内上报，客户两小时后才得知并自行隔离了"
                      "受感染的终端。客户信息中心主任非常不满，要求我司提交书面说明并更换夜班安全工程师。",
        acknowledgement="已与客户信息中心主任通话致歉。安排安全服务部经理驻场两周，复盘告警分级和上报"
                        "流程，两周内提交书面整改报告；夜班安全工程师本周内更换。"),
)


def load(projects, users, today):
    """Record the demo inquiries that are missing, then the executive's acknowledgement."""
    versions = [v for v in inquiry_versions("zh") if v.template.language == "zh"]
    if not versions:
        return ["0 sales inquiries (no Chinese sales_visit questionnaire)"]
    created = 0
    for spec in DEMO_INQUIRIES:
        inquiry = inquiry_by_key(spec.key)
        if inquiry is None:
            inquiry = _record(spec, projects[spec.project], versions[0], today)
            created += inquiry is not None
        if inquiry is not None and spec.acknowledgement and inquiry.acknowledged_at is None:
            acknowledge(inquiry, users["exec1"], spec.acknowledgement,
                        now=min(inquiry.created_at + timedelta(days=1, hours=2), utcnow()))
    return [f"{created} sales inquiries recorded ({len(DEMO_INQUIRIES)} in the demo)"]


def _record(spec, project, version, today):
    """One inquiry, or None when the project gives it nothing to follow (data older than the demo)."""
    trigger = next((t for t in triggers_of(project) if t.kind == spec.trigger), None)
    if trigger is None or trigger.on is None or trigger.on > today:
        return None
    day = max(today - timedelta(days=spec.days_ago), trigger.on)
    by_function = {}
    for contact in contacts_for_inquiry(project):
        by_function.setdefault(contact.function, contact)
    respondent = by_function[spec.respondent]
    met = [by_function[f].id for f in spec.met if f in by_function]
    data = InquiryInput(
        inquired_on=day, mode=spec.mode, trigger=trigger.key, contact_ids=[respondent.id, *met],
        respondent_id=respondent.id, on_behalf=spec.on_behalf,
        major_problem=spec.major_problem is not None,
        major_problem_description=spec.major_problem, submission_key=spec.key)
    answers = {f"q_{code}": str(spec.scores.get(code, 4)) for code in SCORED}
    answers["q_cooperation"] = spec.cooperation
    if spec.opinion:
        answers["q_opinion"] = spec.opinion
    # recorded that afternoon (15:30 in China, as naive UTC)
    return record_inquiry(project, project.sales, data, answers, version=version,
                          now=datetime.combine(day, time(7, 30)))
