"""Demo callback desk (DESIGN §4.3): a quarter of closed service tickets imported through the real
importer, the sample drawn with a fixed seed, and the quality desk's calls logged through the real
queue — a quarter in progress: P1 nearly met, P2 partly done, P3 and P4 barely started.

The quarter's tickets (``TICKETS`` per priority, on the active demo projects, reported by the
clients' own contacts) close between the first day of the current quarter and midnight today. The
desk imports each week's export on the Monday morning after it (the latest one this morning),
draws at once (the first draw samples, later ones top up) and calls the reporters in the days
after. Every export is a GB18030 CSV with Chinese headers, as a Chinese ticket system writes it.

Idempotent: an export whose sha256 is already among the imports is not imported again, and a
quarter that has the demo's tickets from an earlier day's exports (the tickets spread over the
days elapsed, so that day's files differ) gets no new ones. Calls are logged only on tasks with no
attempt yet, each along the fixed plan of its place among its priority's drawn tasks, so a second
run logs nothing (and a call somebody worked on by hand is left alone)."""
import csv
import hashlib
import io
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, select

from ..extensions import db
from ..models import CallbackTask, CaseImport, FollowUp, ServiceCase
from ..models.base import utcnow
from ..seed.examples import ENGINEERS, HEADERS
from ..services.callbacks import queue, sampling
from ..services.cases.importer import import_cases
from ..services.cases.mapping import guess_mapping
from ..services.cases.rows import to_utc
from ..services.quarters import current_quarter, portal_zone, quarter_bounds

#: the demo's fixed sampling seed (recorded on the quarter's first draw: anyone can recompute it)
DEMO_SEED = 20261004
#: the demo tickets' ids: HD + closing date + number in the quarter (not the example files' GD/SR)
ID_PREFIX = "HD"
#: closed tickets of the quarter per priority (≈ 8 %, 21 %, 37 %, 33 % as in a real ticket system)
TICKETS = {"P1": 10, "P2": 25, "P3": 45, "P4": 40}
#: the share of the tickets on key-account clients' projects (whose cases are drawn first)
KEY_ACCOUNT_SHARE = 0.25
#: how the ticket system writes its priorities ("1-紧急" maps through both of its parts)
PRIORITY_WORDS = {"P1": "1-紧急", "P2": "2-高", "P3": "3-中", "P4": "4-低"}
#: how long a ticket stays open, by priority: (shortest, longest) in minutes
OPEN_FOR = {"P1": (40, 6 * 60), "P2": (90, 24 * 60), "P3": (4 * 60, 3 * 24 * 60), "P4": (12 * 60, 7 * 24 * 60)}
#: the client contacts who report faults
REPORTER_FUNCTIONS = ("site_admin", "noc_operator", "ops_leader", "project_lead")
SUMMARIES = {
    "P1": ("核心交换机宕机，全院业务网中断", "生产存储阵列双控故障，数据库停止服务", "数据中心 UPS 故障，部分机柜掉电",
           "出口防火墙 HA 切换失败，外网业务中断", "视频会议 MCU 故障，全部会场无法入会"),
    "P2": ("汇聚交换机端口批量 down，两个楼层断网", "存储阵列硬盘告警，需更换故障盘", "虚拟化集群一台宿主机宕机",
           "机房精密空调温度告警", "夜间备份任务连续失败", "数据库连接数过高告警，应用响应缓慢",
           "服务器电源模块故障"),
    "P3": ("视频会议终端无法入会", "无线网络覆盖不足，信号差", "虚拟机性能下降，申请扩容", "打印服务器队列阻塞",
           "OA 系统登录缓慢", "监控平台部分设备采集中断", "VPN 账号无法登录", "机柜 PDU 告警"),
    "P4": ("防火墙策略变更申请", "新增用户账号及权限申请", "巡检报告补充签字", "会议室终端使用培训",
           "交换机配置备份核对", "设备资产标签更换", "网络拓扑图更新"),
}

#: what the callback form's answers look like (form fields q_<code>; portal/seed/templates.py
#: CALLBACK_ZH: yes_no 1/0, sat5_a 5 = 满意 … 1, points10 1–10, na where allowed)
GOOD_FORMS = (
    {"resolved": "1", "timeliness": "5", "attitude": "5", "technical": "5", "communication": "1",
     "documentation": "1", "overall": "10"},
    {"resolved": "1", "timeliness": "4", "attitude": "5", "technical": "4", "communication": "1",
     "documentation": "na", "overall": "9"},
    {"resolved": "1", "timeliness": "5", "attitude": "4", "technical": "5", "communication": "na",
     "documentation": "1", "overall": "9"},
    {"resolved": "1", "timeliness": "4", "attitude": "4", "technical": "4", "communication": "1",
     "documentation": "1", "overall": "8"},
)
LATE_ARRIVAL = {  # low scores and a comment: the response opens a follow-up for the PM
    "resolved": "1", "timeliness": "2", "attitude": "4", "technical": "4", "communication": "0",
    "documentation": "1", "overall": "5",
    "opinion": "工程师接单后两个多小时才到现场，期间也没有人告知处理进展，业务中断时间太长。"}
RECURRING = {
    "resolved": "0", "timeliness": "4", "attitude": "4", "technical": "2", "communication": "1",
    "documentation": "0", "overall": "4",
    "opinion": "同样的故障本月已经第三次出现，每次都只是临时恢复，希望彻底查清原因并给出书面报告。"}

NOTES = {
    "reached": "客户确认问题已解决，完成回访。",
    "reached_low": "客户对本次处理不满意，已记录意见，转项目经理跟进。",
    "no_answer": "无人接听。",
    "no_answer_again": "仍无人接听，明天上午再打。",
    "busy": "对方正在开会，约定稍后再打。",
    "refused": "客户表示工作繁忙，不接受电话回访。",
    "wrong_number": "号码为空号，工单系统中的联系电话有误，已提醒服务台更正。",
}


@dataclass(frozen=True)
class Step:
    outcome: str
    note: str
    form: dict | None = None   # the callback form recorded after a reached call


def _reached(form=None, note="reached"):
    return (Step("reached", NOTES[note], form),)


GOOD = "good"  # placeholder: the good form of the task's place (GOOD_FORMS, in turn)

#: each priority's plan, by the place of the task among the priority's drawn tasks (in the order
#: they were drawn, replacements left out); places past the end stay uncalled
PLANS = {
    "P1": (_reached(GOOD),
           _reached(LATE_ARRIVAL, "reached_low"),
           (Step("busy", NOTES["busy"]),) + _reached(GOOD),
           (Step("refused", NOTES["refused"]),),
           _reached(GOOD),
           _reached(GOOD),
           (Step("no_answer", NOTES["no_answer"]),) + _reached(RECURRING, "reached_low"),
           (Step("no_answer", NOTES["no_answer"]),)),
    "P2": (_reached(GOOD),
           _reached(GOOD),
           (Step("no_answer", NOTES["no_answer"]),) + _reached(GOOD),
           (Step("wrong_number", NOTES["wrong_number"]),),
           _reached(GOOD),
           (Step("busy", NOTES["busy"]),),
           _reached(GOOD),
           (Step("no_answer", NOTES["no_answer"]), Step("busy", NOTES["busy"]))),
    "P3": (_reached(GOOD),
           (Step("busy", NOTES["busy"]),)),
    "P4": ((Step("no_answer", NOTES["no_answer"]),),),
}
#: the plan of a failed task's replacement, by the failed task's priority
REPLACEMENT_PLANS = {
    "P1": ((Step("no_answer", NOTES["no_answer"]),),),
    "P2": (_reached(GOOD),),
}
#: when a priority's first call follows the draw: (days, hours); P1 is called the same morning
FIRST_CALL = {"P1": (0, 1), "P2": (0, 3), "P3": (1, 2), "P4": (2, 1)}


def load(projects, users, today):
    """Import the quarter's weekly exports, draw and call; returns the summary line."""
    desk = users["quality1"]
    quarter = current_quarter()
    now = utcnow()
    batches = _weekly_exports(quarter, projects, today, now)
    recorded = set(db.session.scalars(select(CaseImport.sha256).where(
        CaseImport.sha256.in_([hashlib.sha256(b.data).hexdigest() for b in batches])))) if batches else set()
    earlier_day = not recorded and _has_demo_cases(quarter)
    imported = attempts = 0
    for batch in batches:
        if earlier_day or hashlib.sha256(batch.data).hexdigest() in recorded:
            continue
        record = import_cases(batch.data, batch.filename, desk, guess_mapping(HEADERS))
        if record.state != "imported":  # not with the demo's own projects; say why rather than draw
            return [f"callback demo: ticket import refused ({(record.errors or [{}])[0].get('message')})"]
        record.imported_at = batch.imported_at
        imported += 1
        recorded_seed = sampling.quarter_seed(quarter)
        sampling.draw(quarter, desk, seed=DEMO_SEED if recorded_seed in (None, DEMO_SEED) else None,
                      now=batch.imported_at)
        attempts += _call(quarter, desk, now)
    attempts += _call(quarter, desk, now)  # the replacements drawn by the last calls
    db.session.flush()
    status = sampling.quarter_status(quarter)
    cases = db.session.scalar(select(func.count(ServiceCase.id)).where(ServiceCase.quarter == quarter))
    return [f"{imported} ticket exports imported, {attempts} call attempts logged; callbacks {quarter} "
            f"({cases} closed cases; closed/required/drawn/reached): "
            + ", ".join(f"{p.priority} {p.closed}/{p.required}/{p.drawn}/{p.reached}" for p in status)]


# --- the ticket exports ------------------------------------------------------------------------

@dataclass(frozen=True)
class Export:
    filename: str
    data: bytes
    imported_at: datetime    # naive UTC


def _weekly_exports(quarter, projects, today, now) -> list:
    """The quarter's tickets so far as the weekly exports the desk imports: tickets closed from
    Monday to Sunday, imported the Monday after at 09:30 (the last, this week's so far, this
    morning), never later than ``now``."""
    zone = portal_zone()
    first, _last = quarter_bounds(quarter)
    start = datetime.combine(first, time())
    an_hour_ago = _local(now, zone).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    end = min(datetime.combine(today, time()), an_hour_ago)  # local midnight: closed up to yesterday
    if end <= start:  # the quarter's first day: the night's tickets
        end = an_hour_ago
    if end <= start:
        return []
    tickets = _tickets(quarter, projects, start, end)
    exports, week_start = [], start
    while week_start < end:
        week_end = min(datetime.combine(week_start.date() + timedelta(days=7 - week_start.weekday()), time()), end)
        rows = [t for t in tickets if week_start <= t[6] < week_end]
        if rows:  # imported at 09:30 the day the week ends (a Monday, or today), after its last ticket
            morning = to_utc(datetime.combine(week_end.date(), time(9, 30)), zone)
            last_closed = to_utc(rows[-1][6], zone)
            imported_at = min(max(min(morning, now - timedelta(minutes=30)), last_closed + timedelta(minutes=10)),
                              now)
            exports.append(Export(f"工单导出_{week_start:%Y%m%d}-{week_end - timedelta(seconds=1):%Y%m%d}.csv",
                                  _csv(rows), imported_at))
        week_start = week_end
    return exports


def _local(instant, zone):
    """The local (naive) time of a naive-UTC instant."""
    return instant.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)


def _tickets(quarter, projects, start, end) -> list:
    """(id, project code, priority word, reporter, phone, opened, closed, summary, engineer), local
    times, in order of closing; the same quarter and day give the same tickets."""
    rng = random.Random(f"demo-callbacks-{quarter}-{end:%Y%m%d%H}")
    active = [p for p in projects if p.status == "active"] or list(projects)
    key = [p for p in active if p.client.key_account]
    other = [p for p in active if not p.client.key_account] or key
    priorities = [p for p, n in TICKETS.items() for _ in range(n)]
    rng.shuffle(priorities)
    span = (end - start).total_seconds()
    closings = sorted(start + timedelta(seconds=int(rng.random() * span)) for _ in priorities)
    tickets = []
    for n, (priority, closed) in enumerate(zip(priorities, closings), 1):
        project = rng.choice(key if key and rng.random() < KEY_ACCOUNT_SHARE else other)
        contacts = sorted(project.client.contacts, key=lambda c: (c.function, c.name, c.phone or ""))
        reporters = [c for c in contacts if c.function in REPORTER_FUNCTIONS] or contacts
        reporter = rng.choice(reporters)
        shortest, longest = OPEN_FOR[priority]
        opened = closed - timedelta(minutes=rng.randint(shortest, longest))
        tickets.append((f"{ID_PREFIX}{closed:%Y%m%d}{n:04d}", project.code, PRIORITY_WORDS[priority],
                        reporter.name, reporter.phone, opened, closed, rng.choice(SUMMARIES[priority]),
                        rng.choice(ENGINEERS)))
    return tickets


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for case_id, code, priority, reporter, phone, opened, closed, summary, engineer in rows:
        writer.writerow((case_id, code, priority, reporter, phone, f"{opened:%Y-%m-%d %H:%M}",
                         f"{closed:%Y-%m-%d %H:%M}", summary, engineer))
    return out.getvalue().encode("gb18030")


def _has_demo_cases(quarter) -> bool:
    return db.session.scalar(select(ServiceCase.id).where(
        ServiceCase.quarter == quarter, ServiceCase.external_id.like(f"{ID_PREFIX}%")).limit(1)) is not None


# --- the calls ---------------------------------------------------------------------------------

def _call(quarter, desk, now) -> int:
    """Log the planned calls of the demo's tasks that have none yet; returns the attempts logged."""
    tasks = db.session.scalars(
        select(CallbackTask).join(CallbackTask.case)
        .where(CallbackTask.quarter == quarter, ServiceCase.external_id.like(f"{ID_PREFIX}%"))
        .order_by(CallbackTask.id)).all()
    replacements = {t.replaced_by_id: t for t in tasks if t.replaced_by_id is not None}
    places = {p: 0 for p in PLANS}
    logged = 0
    versions = queue.callback_versions("zh")
    if not versions:
        return 0
    version = versions[0]
    for task in tasks:
        if task.id in replacements:
            failed = replacements[task.id]
            plans, place = REPLACEMENT_PLANS.get(failed.priority, ()), 0
        else:
            plans, place = PLANS.get(task.priority, ()), places.get(task.priority, 0)
            places[task.priority] = place + 1
        if place >= len(plans) or task.state != "open" or task.attempts_count or task.attempts:
            continue
        logged += _walk(task, plans[place], place, desk, version, now)
    return logged


def _walk(task, steps, place, desk, version, now) -> int:
    """The task's calls, a day apart from its first, all before ``now``."""
    agent = task.assigned_to if task.assigned_to is not None and queue.can_work(task.assigned_to) else desk
    days, hours = FIRST_CALL[task.priority]
    first = task.created_at + timedelta(days=days, hours=hours, minutes=17 * (place % 3))
    logged = 0
    for n, step in enumerate(steps):
        if task.state != "open":
            break
        at = min(first + timedelta(days=n, hours=2 * n), now - timedelta(minutes=12 * (len(steps) - n)))
        queue.log_attempt(task, agent, step.outcome, step.note, expected_version=task.version, now=at)
        logged += 1
        if step.form is not None:
            answers = GOOD_FORMS[place % len(GOOD_FORMS)] if step.form == GOOD else step.form
            submitted = at + timedelta(minutes=6)
            response = queue.record_callback(task, agent, {f"q_{k}": v for k, v in answers.items()},
                                             version=version, now=submitted)
            _backdate_followup(response)
    return logged


def _backdate_followup(response):
    """A follow-up the form opened was opened as the answers came in (not when the demo loaded)."""
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    if followup is not None:
        followup.created_at = response.submitted_at
        if followup.events and followup.events[0].action == "opened":
            followup.events[0].at = response.submitted_at
