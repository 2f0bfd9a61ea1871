"""Demo key accounts (DESIGN §4.9), through the real services: two clients proposed by sales and
approved by the executive months ago, each with its team, an approved service plan and a
relationship-callback schedule (one call due this week, one missed); one proposal awaiting a
decision; one declined. Idempotent: a client that already has a decision is left alone."""
from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Contact, KeyAccountDecision, Project
from ..services import key_accounts as svc

CRITERIA = {
    "华东电网信息通信公司": ("年合同额约 1800 万元，运维、维保与集成三条业务线", "省公司数据中心二期扩容在谈",
                     "电力行业标杆客户，同业常来参观"),
    "上海市第一人民医院": ("年合同额约 900 万元", "院区新建机房的集成与驻场服务", "三甲医院，区域医疗信息化示范单位"),
    "江苏银行数据中心": ("年合同额约 650 万元", "同城双活改造项目正在招标", "城商行中规模领先"),
    "杭州城市轨道交通集团": ("年合同额约 200 万元", "新线路视频会议系统", "地铁行业有一定影响"),
}
#: (client, plan, every weeks, first call relative to today, report language)
APPROVED = [
    ("华东电网信息通信公司", "7×24 值守；每季度现场巡检并出具巡检报告；重大保障期间驻场；每月服务例会。", 4, 2, "zh"),
    ("上海市第一人民医院", "驻场工程师两名；季度巡检；年度灾备演练；服务月报。", 8, -10, "en"),
]
PENDING, DECLINED = "江苏银行数据中心", "杭州城市轨道交通集团"


def _at(day, hour=10):
    """A local working-hours moment on ``day`` as the naive UTC the database keeps."""
    return datetime.combine(day, time(hour)) - timedelta(hours=8)


def load(clients, users, today):
    by_name = {c.name: c for c in clients}
    made = []
    for name, plan, weeks, first_in, language in APPROVED:
        client = by_name[name]
        if svc.decisions_of(client):
            continue
        decision = _propose(client, users, today - timedelta(days=150))
        svc.decide(decision, True, actor=users["exec1"], note="同意列为重点客户，按服务计划执行。",
                   now=_at(today - timedelta(days=146)))
        account = svc.account_of(client)
        project = db.session.scalar(select(Project).where(Project.client_id == client.id).order_by(Project.code))
        contact = db.session.scalar(select(Contact).where(Contact.client_id == client.id, Contact.function == "ops_leader"))
        svc.set_team(account, actor=users["quality1"], expected_version=account.version, pm=project.pm,
                     service_contact=users["quality1"], engineer=users["pm2"], sales=project.sales)
        svc.set_plan(account, actor=users["quality1"], expected_version=account.version, text=plan)
        svc.approve_plan(account, actor=users["exec1"], expected_version=account.version,
                         agreed_on=today - timedelta(days=140), now=_at(today - timedelta(days=141)))
        svc.set_schedule(account, actor=users["quality1"], expected_version=account.version, every_weeks=weeks,
                         starts_on=today + timedelta(days=first_in), contact=contact, project=project,
                         report_language=language, today=today)
        made.append(name)
    if not svc.decisions_of(by_name[PENDING]):
        _propose(by_name[PENDING], users, today - timedelta(days=3))
        made.append(PENDING)
    if not svc.decisions_of(by_name[DECLINED]):
        decision = _propose(by_name[DECLINED], users, today - timedelta(days=60))
        svc.decide(decision, False, actor=users["exec1"], note="业务量尚未达到重点客户标准，明年再议。",
                   now=_at(today - timedelta(days=57)))
        made.append(DECLINED)
    db.session.flush()
    approved = db.session.scalars(select(KeyAccountDecision).where(KeyAccountDecision.state == "approved")).all()
    return [f"key accounts: {len(approved)} approved, proposals made now: {len(made)}"]


def _propose(client, users, day):
    volume, potential, influence = CRITERIA[client.name]
    return svc.propose(client, "designate", actor=users["sales1"], now=_at(day), business_volume=volume,
                       cooperation_potential=potential, industry_influence=influence,
                       reason="建议纳入重点客户计划，配备专属服务团队。")
