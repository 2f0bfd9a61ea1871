"""Demo complaints (DESIGN §4.7): cases of an O&M services company in every state, each
registered and walked through the real intake and transition services, with its steps backdated
via ``now=`` in order: one just registered by phone, one accepted, one assigned and investigated
whose resolution clock is overdue, a major one assigned, one judged invalid, one whose large
compensation waits for an executive, one whose client was told the outcome, one closed and
reopened, one along the full path to closed whose complainant answered the check on its handling
through the e-mailed link, and one closed whose complainant (no e-mail) waits for the desk's call.

Idempotent: a complaint is registered (and walked) only when no complaint has its description yet,
so a second run adds nothing."""
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import Complaint, Contact, Department
from ..models.base import utcnow
from ..services.complaints import handling_check, workflow
from ..services.complaints.intake import register_complaint


@dataclass(frozen=True)
class Case:
    key: str
    project: int                 # index into the demo projects
    contact: int                 # index into the client's contacts (by id)
    channel: str
    description: str
    days_ago: float              # registered this long ago
    steps: tuple = ()            # ((action, hours after registration, fields), ...)
    major: bool = False
    direction: str = None
    problem_type: str = "complaint"
    #: the check on the handling, answered through its link: the answers (field name -> value)
    check_answers: tuple = ()
    #: a complainant not on file, with a phone number only: (name, phone)
    stranger: tuple = ()


OPS, SUPPORT = "运维服务部", "技术支持部"

CASES = (
    Case("new_by_phone", 0, 1, "phone",
         "客户来电投诉：本周二凌晨机房 UPS 告警后，驻场工程师 40 分钟才到场，期间无人电话告知处理进展；"
         "客户要求说明原因并改进夜间到场安排。", days_ago=0.05, direction="timeliness"),
    Case("overdue", 2, 2, "email",
         "客户邮件投诉：核心交换机固件升级后连续三天出现端口闪断，我方工程师多次远程处理未能解决，"
         "影响客户营业厅业务系统，要求尽快彻底处理并给出书面报告。",
         days_ago=10, direction="technical",  # past the 48 working hours whatever the weekday
         steps=(("accept", 1, {"note": "属实需处理，转运维服务部。"}),
                ("assign", 2, {"department": OPS, "owner": "pm1"}),
                ("record_contact", 4, {"how": "phone", "note": "已电话联系客户网络组组长致歉，约定次日现场排查。"}),
                ("investigate", 30, {"findings": "新固件与客户接入交换机的 LACP 配置不兼容，导致聚合链路周期性重协商；"
                                                 "升级前未在测试环境验证。",
                                     "company_fault": True, "responsible_employee": "网络工程师 韩冬"}))),
    Case("major", 4, 3, "in_person",
         "客户信息中心主任当面投诉：上周五存储扩容割接超出约定窗口 3 小时，医院 HIS 系统上午门诊挂号中断约 40 分钟，"
         "客户已向院领导汇报，要求我司高层说明情况并承担相应责任。", days_ago=2, major=True,
         direction="timeliness",
         steps=(("accept", 0.5, {"note": "重大投诉，已同时报告技术总监。"}),
                ("assign", 1, {"department": SUPPORT, "owner": "pm2"}))),
    Case("invalid", 6, 1, "chat",
         "客户在微信群反映：办公楼会议室投影仪无法开机，要求我司工程师当天上门维修。",
         days_ago=5, direction="other",
         steps=(("judge_invalid", 3, {"reason": "会议室投影仪不在本项目维保合同范围内（合同只含机房和网络设备），"
                                               "不属于我司服务质量问题；已告知客户可联系设备厂商报修，"
                                               "如需纳入维保可与销售商定补充协议。"}),)),
    Case("closed", 8, 2, "phone",
         "客户来电投诉：上月巡检报告漏报一台存储磁盘预警，导致磁盘故障后 RAID 降级运行两天，"
         "客户认为巡检流于形式，要求赔偿并整改。", days_ago=14, direction="documentation",
         steps=(("accept", 1, {"note": "属实，转运维服务部处理。"}),
                ("assign", 2, {"department": OPS, "owner": "pm2"}),
                ("record_contact", 5, {"how": "visit", "note": "到客户机房与运维主管当面致歉，确认故障经过和客户诉求。"}),
                ("investigate", 48, {"findings": "驻场工程师巡检时只查看了存储管理界面的汇总状态，未导出磁盘 SMART 日志，"
                                                 "预警未被发现；巡检清单没有要求检查磁盘预警。",
                                     "company_fault": True, "responsible_employee": "驻场工程师 邱明"}),
                ("propose_remedy", 72, {"kind": "compensation", "amount": 3000,
                                        "text": "按合同 SLA 条款减免当月服务费 3000 元；巡检清单增加磁盘 SMART 预警检查项，"
                                                "由项目经理每月抽查。"}),
                ("approve", 96, {"note": "同意，金额在部门权限内。"}),
                ("notify_client", 144, {"how": "email", "said": "已书面告知客户调查结果、3000 元服务费减免和巡检整改措施，"
                                                            "客户回复认可。"}),
                ("close", 240, {"note": "客户确认整改落实，结案。"})),
         check_answers=(("q_speed", "4"), ("q_effect", "5"), ("q_attitude", "5"), ("q_overall", "4"),
                        ("q_opinion", "处理及时，整改措施到位；希望巡检报告以后附上原始日志。"))),
    Case("accepted", 1, 0, "social",
         "客户在微博发文：我司热线电话连续两天无人接听，报修只能通过邮件，认为服务渠道不畅。",
         days_ago=0.5, direction="communication",
         steps=(("accept", 1, {"note": "属实，热线排班调整期间漏接，待分派。"}),)),
    Case("awaiting_exec", 3, 1, "letter",
         "客户来函投诉：数据中心空调改造延期 3 周，导致客户新机房无法按期启用，租用临时机房多支出约 9 万元，"
         "要求我司承担部分费用。", days_ago=6, direction="timeliness",
         steps=(("accept", 1, {"note": "属实，涉及费用赔偿，转技术支持部。"}),
                ("assign", 2, {"department": SUPPORT, "owner": "pm2"}),
                ("record_contact", 3, {"how": "visit", "note": "上门与客户行政总监沟通，收取临时机房租赁合同复印件。"}),
                ("mark_complex", 4, {"how": "phone", "note": "已告知客户需核对合同与费用凭证，处理时间延长至 5 个工作日。"}),
                ("investigate", 40, {"findings": "空调设备到货延误 10 天属供应商原因，但我司施工方案变更未及时通知客户，"
                                                 "另外延误 11 天；按合同延期条款我司应承担部分费用。",
                                     "company_fault": True, "responsible_employee": "项目经理 刘洋"}),
                ("propose_remedy", 60, {"kind": "compensation", "amount": 20000,
                                        "text": "按合同延期违约条款补偿 20000 元，并由技术总监书面致歉。"}))),
    Case("notified", 5, 2, "email",
         "客户邮件投诉：驻场工程师处理打印服务器故障时误删了共享目录权限，财务部半天无法打印报表。",
         days_ago=4, direction="attitude",
         steps=(("accept", 1, {"note": "属实。"}),
                ("assign", 2, {"department": OPS, "owner": "pm1"}),
                ("record_contact", 3, {"how": "phone", "note": "电话致歉，当天恢复权限。"}),
                ("investigate", 20, {"findings": "工程师未按变更流程先备份权限配置。", "company_fault": True,
                                     "responsible_employee": "驻场工程师 孙磊"}),
                ("propose_remedy", 24, {"kind": "penalty", "text": "内部通报批评并重新培训变更流程；向客户书面致歉。"}),
                ("approve", 30, {"note": "同意。"}),
                ("notify_client", 40, {"how": "email", "said": "已告知客户原因、内部处理结果和变更流程整改；"
                                                            "如仍不满意可直接联系质量部。"}))),
    Case("approved", 11, 1, "phone",
         "客户来电投诉：机房门禁系统改造后，夜班值守人员的门禁卡两次失效，被锁在机房外 20 分钟。",
         days_ago=1.5, direction="technical",
         steps=(("accept", 0.5, {"note": "属实。"}),
                ("assign", 1, {"department": OPS, "owner": "pm1"}),
                ("record_contact", 2, {"how": "phone", "note": "已联系客户值班主管。"}),
                ("investigate", 6, {"findings": "门禁权限同步任务每晚 23 点执行，新卡在同步前未生效。",
                                    "company_fault": True}),
                ("propose_remedy", 8, {"kind": "apology", "text": "书面致歉，权限改为实时同步。"}),
                ("approve", 10, {"note": "同意，请尽快告知客户。"}))),
    Case("reopened", 7, 1, "phone",
         "客户来电投诉：备份作业连续失败一周无人发现，巡检报告却显示“正常”。", days_ago=12,
         direction="technical",
         steps=(("accept", 1, {"note": "属实。"}),
                ("assign", 2, {"department": OPS, "owner": "pm1"}),
                ("record_contact", 3, {"how": "phone", "note": "已联系客户。"}),
                ("investigate", 24, {"findings": "备份告警邮件被误设为垃圾邮件。", "company_fault": True}),
                ("propose_remedy", 30, {"kind": "rework", "text": "修正告警规则，补做全量备份。"}),
                ("approve", 34, {"note": "同意。"}),
                ("notify_client", 48, {"how": "phone", "said": "已告知处理结果。"}),
                ("close", 60, {"note": "结案。"}),
                ("reopen", 120, {"reason": "客户反映备份昨天再次失败，告警仍未送达。"}))),
    Case("check_by_call", 9, 0, "phone",
         "来电投诉（未登记联系人）：维修后服务器风扇噪音明显增大，工程师说属正常现象，客户不认可。",
         days_ago=8, direction="technical", stranger=("门卫值班室 黄师傅", "021-55501234"),
         steps=(("accept", 1, {"note": "属实。"}),
                ("assign", 2, {"department": SUPPORT, "owner": "pm2"}),
                ("record_contact", 3, {"how": "phone", "note": "已回电。"}),
                ("investigate", 20, {"findings": "更换的风扇型号与原厂不一致。", "company_fault": True}),
                ("propose_remedy", 24, {"kind": "rework", "text": "更换为原厂型号风扇。"}),
                ("approve", 28, {"note": "同意。"}),
                ("notify_client", 50, {"how": "phone", "said": "已更换并告知。"}),
                ("close", 70, {"note": "结案。"}))),
)


def load(projects, users, today):
    """Register and walk the demo complaints not there yet; returns a summary line."""
    departments = {d.name: d for d in db.session.scalars(select(Department).where(
        Department.name.in_((OPS, SUPPORT))))}
    made = 0
    for case in CASES:
        if db.session.scalar(select(Complaint.id).where(Complaint.description == case.description)) is not None:
            continue
        _make(case, projects, users, departments)
        made += 1
    db.session.flush()
    counts = dict(db.session.execute(select(Complaint.state, func.count()).group_by(Complaint.state)).all())
    return [f"{len(CASES)} demo complaints ({made} new); complaints by state: "
            + ", ".join(f"{state} {counts[state]}" for state in sorted(counts))]


def _make(case, projects, users, departments):
    project = projects[case.project]
    contacts = db.session.scalars(select(Contact).where(Contact.client_id == project.client_id)
                                  .order_by(Contact.id)).all()
    now = utcnow()
    registered = now - timedelta(days=case.days_ago)
    desk = users["quality1"]
    who = (dict(complainant_name=case.stranger[0], complainant_phone=case.stranger[1]) if case.stranger
           else dict(contact=contacts[case.contact % len(contacts)]))
    complaint = register_complaint(channel=case.channel, description=case.description, by_user=desk, **who,
                                   project=project,
                                   direction=case.direction, problem_type=case.problem_type,
                                   major=case.major, now=registered)
    for action, hours, fields in case.steps:
        when = min(registered + timedelta(hours=hours), now - timedelta(minutes=1))
        fields = dict(fields)
        if action == "assign":
            fields["department"] = departments[fields["department"]]
            fields["owner"] = users[fields["owner"]]
        if action in ("record_contact", "notify_client"):
            fields["at"] = when
        with _site_address():  # the check's link, e-mailed on closing, carries the site's address
            workflow.apply(complaint, action, actor=_actor(complaint, action, desk),
                           expected_version=complaint.version, now=when, **fields)
    if case.check_answers:
        check = complaint.surveys[-1]
        handling_check.submit_check_online(check.id, dict(case.check_answers), client_ip="203.0.113.7",
                                           now=min(check.created_at + timedelta(days=1), now))
    return complaint


def _site_address():
    """A request context on the site's public address (PUBLIC_BASE_URL, else ``make run``'s)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000"
    return current_app.test_request_context(base_url=base)


def _actor(complaint, action, desk):
    who = workflow.ACTOR_OF[action]
    if who in ("quality", "desk_or_handler", "owner_or_quality") and action not in ("record_contact", "close"):
        return desk
    if who == "approver":
        return complaint.department.head  # within its limit (complaints.exec_approval_amount)
    return complaint.owner or desk
