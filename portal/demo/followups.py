"""Demo follow-ups in every state of the closed loop (DESIGN §4.4). The rounds and inquiries
opened them (the ``response_submitted`` hook); here the PMs, the executive and PMO walk them
through the real transition service, each along a fixed plan of steps with texts that fit
what the client said.

Idempotent: a follow-up is walked only while its timeline is a prefix of its plan and its
state is the one the plan expects before each step, so a second run takes no step at all
(and one somebody worked on by hand is left alone)."""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import FollowUp, Response, SalesInquiry, User
from ..models.base import utcnow
from ..services import followups as svc
from ..services.quarters import local_date
from . import inquiries as demo_inquiries

_RESOLVED = ("classify", "record_contact", "record_cause_and_actions", "resolve")
PLANS = {
    "overdue": ("classify",),  # sorted, never contacted: past its due date
    "contacted": ("classify", "record_contact"),
    "escalated": ("classify", "record_contact", "escalate"),  # waits for the executive's answer
    "answered": ("classify", "record_contact", "escalate", "answer_escalation"),
    "resolved": _RESOLVED,  # waits for PMO
    "reopened": _RESOLVED + ("reopen",),
    "reopened_twice": _RESOLVED + ("reopen", "record_contact", "record_cause_and_actions", "resolve",
                                   "verify", "reopen"),
    "closed": _RESOLVED + ("verify",),
    "closed_escalated": ("classify", "record_contact", "record_cause_and_actions", "escalate",
                         "answer_escalation", "resolve", "verify"),
}

#: plans for the follow-ups of rounds with low scores, oldest first; the rest stay open (overdue)
ROUND_PLANS = ("overdue", "closed", "reopened_twice", "resolved", "reopened", "answered", "closed",
               "contacted", "escalated", "closed", "contacted")
#: a praise older than this is thanked for and closed; newer ones are still open
PRAISE_CLOSED_AFTER = timedelta(days=20)


@dataclass(frozen=True)
class Story:
    """What the people on a follow-up write at each step; a repeated step takes the next entry
    (the last one repeats)."""
    direction: str                   # codes of problems.directions / problems.types (settings)
    problem_type: str
    contacts: tuple                  # ((how, note), ...)
    actions: tuple                   # ((cause, corrective action, preventive action), ...)
    resolutions: tuple
    verification: str
    reopen_reasons: tuple = ("回访客户时发现问题仍未彻底解决，请继续跟进。",)
    escalation: tuple = ("整改需要的资源超出项目经理权限，请技术总监决定。",
                         "同意所需资源，由相关部门本周内落实；请项目经理向客户说明。")

    def fields(self, action, n, exec_user):
        """The field values of the ``n``-th (from 0) ``action`` on this follow-up."""
        def nth(items):
            return items[min(n, len(items) - 1)]
        if action == "classify":
            return {"direction": self.direction, "problem_type": self.problem_type}
        if action == "record_contact":
            how, note = nth(self.contacts)
            return {"how": how, "note": note}
        if action == "record_cause_and_actions":
            cause, corrective, preventive = nth(self.actions)
            return {"cause": cause, "corrective_action": corrective, "preventive_action": preventive}
        if action == "escalate":
            return {"to": exec_user.id, "reason": self.escalation[0]}
        if action == "answer_escalation":
            return {"answer": self.escalation[1]}
        if action == "resolve":
            return {"note": nth(self.resolutions)}
        if action == "verify":
            return {"note": self.verification}
        return {"reason": nth(self.reopen_reasons)}  # reopen


NIGHT_RESPONSE = Story(
    "timeliness", "complaint",
    contacts=(("phone", "电话联系客户机房值班负责人，了解到上月两次夜间告警都超过 30 分钟才有工程师回电，"
                        "客户担心影响第二天早高峰业务。"),
              ("visit", "到客户机房与值班负责人当面确认新的夜间值守安排，客户同意再观察一个月。")),
    actions=(("夜间只安排一名二线工程师电话值守，同时处理多个项目的告警时只能排队，P2 工单响应超时。",
              "即日起夜间增加一名值守工程师，本客户告警优先派单；已向客户说明两次超时工单的处理经过。",
              "按各项目 SLA 重排夜间值守表；监控平台对 P1/P2 告警 15 分钟无人响应自动升级到值班经理；"
              "每月统计夜间响应时间并在月报中通报。"),
             ("新增的夜班工程师还没有开通客户机房门禁，需要到场处理的夜间故障仍要等驻场工程师赶来。",
              "已协调客户为两名夜班工程师开通门禁和机房登记；需要到场的夜间故障由备班工程师 40 分钟内到场。",
              "新人上岗前按清单完成门禁、系统账号和备件库权限的开通检查，由项目经理签字确认。")),
    resolutions=("夜间值守已调整，近两周夜间工单均在 15 分钟内响应，客户认可。",
                 "门禁已开通，近三周夜间到场时间都在 40 分钟以内。"),
    verification="PMO 电话回访客户，确认近一个月夜间工单响应时间达标，同意关闭。",
    reopen_reasons=("回访客户得知本月仍有一次夜间 P2 工单 50 分钟才响应，整改未见效，请继续跟进。",
                    "关闭后客户再次反映夜间响应慢，工单系统显示上周有两单超时，重新打开。"),
    escalation=("增加夜间值守人员需要调整部门排班和费用，超出项目经理权限，请技术总监决定。",
                "同意从运维二部抽调一名工程师加入夜间值守，费用计入本项目；请项目经理本周内向客户书面说明。"))

INSPECTION_REPORTS = Story(
    "documentation", "complaint",
    contacts=(("visit", "与客户运维主管面谈，客户指出上月巡检报告迟交一周，而且缺少 UPS 和精密空调的巡检记录。"),),
    actions=(("巡检报告由驻场工程师手工汇总，工程师休假期间无人接手；报告模板里没有动力环境巡检项。",
              "已补交上月巡检报告并补齐 UPS、精密空调的巡检记录；指定一名工程师作为报告 B 角。",
              "巡检报告改用含动力环境项的统一模板，每月 5 日前提交，项目经理审核后发送；逾期由工单系统自动提醒。"),),
    resolutions=("补交的巡检报告客户已签收，本月报告按时提交。",),
    verification="已抽查最近两个月的巡检报告，按时提交且内容完整，同意关闭。",
    reopen_reasons=("客户反映本月巡检报告仍缺少空调巡检记录，请补齐并检查新模板的执行情况。",),
    escalation=("客户要求增加每月一次的现场巡检，需要调整合同服务内容。",
                "同意本季度先免费增加现场巡检，由商务部与客户商定补充协议。"))

SPARE_PARTS = Story(
    "timeliness", "complaint",
    contacts=(("phone", "电话联系客户网络组组长，确认存储控制器故障后备件等了 5 天才到，期间存储一直单控运行。"),),
    actions=(("该型号存储备件不在本地备件库，要从厂商华北仓调货，备件申请还要经过两级审批。",
              "已为该客户的核心交换机和存储控制器在本地备件库备货，并更新了客户设备清单。",
              "每季度按客户设备清单核对备件覆盖率，关键设备备件必须本地储备；备件申请审批改为 24 小时内完成。"),),
    resolutions=("关键备件已全部入库，客户确认了备件清单。",),
    verification="已核对备件库台账，该客户关键设备的备件齐全，同意关闭。",
    reopen_reasons=("客户反映上周更换硬盘仍等了 3 天，备件覆盖率核对没有包括硬盘，请继续跟进。",),
    escalation=("本地备件库扩容需要追加采购预算，超出项目经理权限，请技术总监审批。",
                "同意追加备件采购预算，采购部两周内到货；我已致电客户信息中心主任说明备件保障方案。"))

CHANGE_NOTICE = Story(
    "communication", "complaint",
    contacts=(("visit", "拜访客户信息科，客户反映上周核心交换机升级只提前半天通知，业务部门来不及安排停机窗口。"),),
    actions=(("变更流程没有规定通知客户的提前量，工程师按内部变更窗口直接实施。",
              "已向客户致歉并补发本次变更报告；此后的变更均提前三个工作日书面通知客户。",
              "变更管理流程增加客户确认环节，没有客户签字的变更单不得实施；每周向客户发送运维周报。"),),
    resolutions=("最近三次变更均提前三个工作日通知并取得客户签字，客户认可。",),
    verification="已抽查本月变更单，均有客户确认签字，同意关闭。",
    reopen_reasons=("客户反映上周一次紧急变更仍未提前通知，紧急变更也要按流程告知客户，请继续跟进。",),
    escalation=("客户要求我司出具正式的变更管理承诺函，需要公司层面盖章确认。",
                "同意出具承诺函，由质量部起草、我签发；请项目经理同步修订本项目的变更流程并告知客户。"))

LOW_SCORES = Story(  # low scores without one of the comments above
    "other", "complaint",
    contacts=(("phone", "电话联系客户了解评分偏低的原因，客户认为本季度同类故障反复出现，问题处理不够彻底。"),),
    actions=(("部分故障只做了临时恢复，没有做根因分析，同类故障重复发生。",
              "对本季度重复发生的三类故障完成根因分析并彻底处理，向客户提交了分析报告。",
              "30 天内同类故障出现两次以上自动生成问题单，完成根因分析后才能关闭。"),),
    resolutions=("根因分析报告客户已确认，近一个月未再出现同类故障。",),
    verification="已回访客户确认，同意关闭。")

STORIES_BY_COMMENT = {
    "夜间故障响应偏慢，希望改进值守安排。": NIGHT_RESPONSE,
    "巡检报告提交不及时，文档不够完整。": INSPECTION_REPORTS,
    "备件更换周期太长，影响业务。": SPARE_PARTS,
    "沟通不够主动，变更前没有提前通知。": CHANGE_NOTICE,
}

TREND_ANALYSIS = Story(
    "documentation", "suggestion",
    contacts=(("email", "邮件回复客户部门负责人，确认巡检报告增加趋势分析的范围：CPU 负载、存储容量和机房温湿度。"),),
    actions=(("现有巡检报告只记录当次检查结果，没有趋势分析，客户做年度扩容预算时缺少依据。",
              "从下月起巡检报告增加 CPU 负载、存储容量和机房温湿度的季度趋势图。",
              "把趋势分析加入公司巡检报告标准模板，在其他数据中心运维项目推广。"),),
    resolutions=("已向客户发送新版巡检报告样例，客户认可。",),
    verification="已查看新版巡检报告，趋势分析齐全，同意关闭。")

CORE_SWITCH = Story(
    "timeliness", "complaint",
    contacts=(("phone", "当天电话联系客户科技部总经理致歉，说明故障经过和临时处置；客户要求我司高层出面说明。"),),
    actions=(("核心交换机板卡不在本地备件库，从厂商仓库调货用了 6 小时；故障切换方案未按季度演练。",
              "已更换故障板卡并恢复双机冗余；为客户核心设备在本地备件库备货。",
              "核心设备备件全部本地储备，4 小时到场写入服务承诺；每季度与客户联合做一次切换演练。"),),
    resolutions=("整改已落实，客户确认。",),
    verification="已回访客户，同意关闭。",
    escalation=("客户科技部总经理要求我司高层本周内到行里说明原因和整改方案，并提出要重新评估明年的维保合同，"
                "需要技术总监出面。",
                "本周四我与项目经理一起拜访客户科技部，当面说明原因和整改方案。"))

SOC_ALERT = Story(
    "timeliness", "complaint",
    contacts=(("visit", "与客户信息中心主任当面沟通，说明漏报经过，客户要求提交书面整改报告。"),),
    actions=(("SOC 夜班人员对告警分级理解不一致，一条勒索病毒高危告警被判为中危，没有触发电话上报。",
              "已复盘该事件并向客户提交书面说明；更换夜班安全工程师；对全网补做排查，未发现横向扩散。",
              "修订告警分级标准和上报 SOP，高危告警改由平台自动电话通知客户；每月做一次上报演练并纳入考核。"),),
    resolutions=("整改措施全部落实，客户已书面确认整改报告。",),
    verification="PMO 回访客户信息中心，确认两个月内没有再发生漏报，同意关闭。",
    escalation=("客户要求我司高层确认整改方案，并承担追加的驻场安全人力，超出项目经理权限。",
                "已拜访客户信息中心确认整改方案；同意增加一名驻场安全工程师三个月，费用由公司承担。"))

#: the inquiries' follow-ups: (plan, story); the low-score phone inquiry stays open (it is recent)
INQUIRY_PLANS = {
    demo_inquiries.KEY_SUGGESTION_ON_BEHALF: ("resolved", TREND_ANALYSIS),
    demo_inquiries.KEY_MAJOR_OPEN: ("escalated", CORE_SWITCH),
    demo_inquiries.KEY_MAJOR_ACKNOWLEDGED: ("closed_escalated", SOC_ALERT),
}

PRAISE_DIRECTIONS = {"驻场工程师响应很快，服务态度好。": "attitude", "技术能力强，故障处理及时。": "technical"}


def _praise(direction):
    return Story(
        direction, "praise",
        contacts=(("phone", "致电客户感谢对驻场团队的肯定，客户表示本季度服务稳定，没有其他意见。"),),
        actions=(("客户对本季度驻场服务的肯定，没有需要整改的问题。",
                  "已在项目周例会上通报表扬，并转达给相关工程师。",
                  "保持现有值守和巡检安排，把好的做法整理后在其他项目分享。"),),
        resolutions=("表扬类反馈，已致谢并在内部通报。",),
        verification="已核实，同意关闭。")


def load(projects, users, today):
    """Walk the demo follow-ups along their plans; returns a summary line with the state counts."""
    exec_user, pmo = users["exec1"], users["pmo1"]
    followups = db.session.scalars(  # the callback desk's follow-ups are the callback demo's to leave open
        select(FollowUp).join(Response, Response.id == FollowUp.response_id)
        .where(FollowUp.project_id.in_([p.id for p in projects]), Response.channel != "phone")
        .order_by(FollowUp.id)).all()
    by_key = dict(db.session.execute(
        select(SalesInquiry.response_id, SalesInquiry.submission_key)
        .where(SalesInquiry.response_id.in_([f.response_id for f in followups]))).all())
    steps, problems = 0, 0
    for followup in followups:
        if followup.response_id in by_key:
            plan = INQUIRY_PLANS.get(by_key[followup.response_id])
            if plan is not None:
                steps += _walk(followup, *plan, exec_user, pmo)
        elif any(t["reason"] == "low_score" for t in followup.triggers):
            if problems < len(ROUND_PLANS):
                plan = ROUND_PLANS[problems]
                steps += _walk(followup, plan, _story_of(followup), exec_user, pmo)
                if plan == "overdue":
                    _make_overdue(followup, today)
            problems += 1
        elif local_date(followup.response.submitted_at) <= today - PRAISE_CLOSED_AFTER:
            comment = (followup.response.comment or "").strip()
            steps += _walk(followup, "closed", _praise(PRAISE_DIRECTIONS.get(comment, "other")),
                           exec_user, pmo)
    db.session.flush()
    counts = dict(db.session.execute(
        select(FollowUp.state, func.count()).where(FollowUp.project_id.in_([p.id for p in projects]))
        .group_by(FollowUp.state)).all())
    return [f"{steps} follow-up steps taken; follow-ups by state: "
            + ", ".join(f"{state} {counts[state]}" for state in sorted(counts))]


def _story_of(followup):
    return STORIES_BY_COMMENT.get((followup.response.comment or "").strip(), LOW_SCORES)


def _walk(followup, plan, story, exec_user, pmo) -> int:
    """Take the plan's steps not taken yet; stop at the first the follow-up is not ready for."""
    actions = PLANS[plan]
    done = tuple(e.action for e in followup.events if e.action != "opened")
    if done != actions[:len(done)]:
        return 0  # somebody worked on it by hand: leave it alone
    expected = "open"
    for action in done:
        expected = svc.TRANSITIONS[(expected, action)]
    taken = 0
    opened = followup.events[0]
    if not done and opened.action == "opened" and opened.at > followup.response.submitted_at:
        opened.at = followup.created_at = followup.response.submitted_at  # opened as the answers came in
    for n in range(len(done), len(actions)):
        action = actions[n]
        if followup.state != expected or (expected, action) not in svc.TRANSITIONS:
            break
        who = svc.ACTOR_OF[action]
        actor = (followup.owner if who == "owner" else pmo if who == "pmo"
                 else db.session.get(User, followup.escalated_to_id))
        fields = story.fields(action, actions[:n].count(action), exec_user)
        when = _when(followup, n, len(actions))
        if action == "record_contact":
            fields["at"] = when
        svc.apply(followup, action, actor=actor, expected_version=followup.version, **fields)
        _backdate(followup, action, when)
        expected = svc.TRANSITIONS[(expected, action)]
        taken += 1
    return taken


#: the timestamp each step sets besides its timeline entry
STEP_TIMES = {"escalate": "escalated_at", "answer_escalation": "answered_at", "resolve": "resolved_at",
              "verify": "verified_at"}


def _when(followup, n, steps):
    """When the demo's ``n``-th step happened: a day or two apart from the answers on, and
    always before now, in order (so the timeline reads like weeks of work, not one load)."""
    spread = followup.response.submitted_at + timedelta(days=1 + 2 * n, hours=2 + n)
    return min(spread, utcnow() - timedelta(minutes=10 * (steps - n)))


def _backdate(followup, action, when):
    followup.events[-1].at = when
    if action in STEP_TIMES:
        setattr(followup, STEP_TIMES[action], when)


def _make_overdue(followup, today):
    """The demo's overdue example must be overdue whatever day the demo was loaded."""
    if followup.state in svc.ACTIVE_STATES and not svc.is_overdue(followup, today):
        followup.due_on = today - timedelta(days=3)


#: the department a demo follow-up is routed to for action (one of the demo departments)
ROUTED_TO = "技术支持部"
ROUTE_NOTE = "故障根因在远程诊断流程，请技术支持部复核诊断步骤并给出改进意见。"


def route_one(users):
    """Route pm1's first contacted follow-up to the technical support department through the
    real step (its members then find it in their queue); once: skipped when one is routed."""
    from ..models import Department
    if db.session.scalar(select(func.count(FollowUp.id)).where(FollowUp.department_id.is_not(None))):
        return ["follow-ups routed to a department: already"]
    department = db.session.scalar(select(Department).where(Department.name == ROUTED_TO))
    followup = db.session.scalar(select(FollowUp).where(FollowUp.owner_id == users["pm1"].id,
                                                        FollowUp.state == "contacted").order_by(FollowUp.id))
    if department is None or followup is None:
        return []
    svc.apply(followup, "route", actor=users["pm1"], expected_version=followup.version,
              department=department, note=ROUTE_NOTE)
    return [f"follow-up #{followup.id} routed to {department.name}"]
