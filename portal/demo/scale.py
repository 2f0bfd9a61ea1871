"""Data at scale (issue 15): three years of a mid-size O&M company beside the demo data, for
load tests and benchmarks (``flask demo --scale small|mid``).

Everything is written with SQLAlchemy Core ``insert()`` in chunks (executemany; PostgreSQL
batches them as multi-row VALUES), with primary keys allotted here from each table's highest id,
so children name their parents without reading ids back; PostgreSQL's sequences are moved past
them at the end. The rows keep every rule the services keep: a response's score is the mean of
its normalised answers (services.scoring.response_score over the options' points), its quarter is
the local quarter of its submission, every response with a comment or an answer at or below the
follow-up threshold has its follow-up, callback tasks are the best-ranked cases of their quarter's
seeded draw (services.callbacks.sampling.rank_of) up to ⌈rate × closed⌉, complaints step along the
workflow's transitions with the clock marks its timers read. The archive columns stay NULL.

Deterministic (one seeded ``random.Random``) and loaded once: projects coded ``SC-…`` mark the
data set, and a second run adds nothing.
"""
import hashlib
import json
import random
import time as clock
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import JSON, func, insert, select, text

from ..extensions import db
from ..models import (Answer, CallAttempt, CallbackDraw, CallbackTask, CaseImport, Client, Complaint,
                      ComplaintEvent, Contact, Department, DepartmentMember, FollowUp, FollowUpEvent, Invitation,
                      Milestone, Project, Response, RoundVersion, ServiceCase, SurveyRound, Template,
                      TemplateVersion, User)
from ..models.base import utcnow
from ..services.quarters import portal_zone, quarter_bounds, quarter_of, shift_quarter
from ..services.scoring import response_score

CODE_PREFIX = "SC-"
CHUNK = 5000


@dataclass(frozen=True)
class Size:
    name: str
    clients: int
    contacts_per_client: int
    projects: int
    pms: int
    sales: int
    agents: int                 # quality desk agents besides quality1
    quarters: int               # ending with the current one
    invited_per_round: int
    answered: float             # share of invitations answered
    cases_per_quarter: int
    complaints: int


SIZES = {
    "small": Size("small", clients=6, contacts_per_client=10, projects=12, pms=3, sales=2, agents=1,
                  quarters=4, invited_per_round=6, answered=0.8, cases_per_quarter=120, complaints=80),
    "mid": Size("mid", clients=80, contacts_per_client=32, projects=240, pms=30, sales=12, agents=3,
                quarters=12, invited_per_round=28, answered=0.85, cases_per_quarter=8600, complaints=5200),
}

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚",
         "建国", "晓红", "志强", "海燕", "立新", "丽华", "志明", "小平", "文博", "思远", "嘉怡", "子涵"]
CITIES = ["上海", "南京", "杭州", "苏州", "宁波", "无锡", "合肥", "常州", "南通", "嘉兴", "绍兴", "温州",
          "扬州", "镇江", "徐州", "芜湖", "台州", "金华", "湖州", "泰州"]
SECTORS = ["人民医院", "供电公司", "数据中心", "轨道交通集团", "农商银行", "自来水公司", "政务服务中心",
           "港务集团", "燃气集团", "广电网络", "第一中学", "高新区管委会", "税务局信息中心", "烟草公司",
           "机场集团", "移动分公司", "证券营业部", "妇幼保健院"]
PROJECT_KINDS = ["数据中心运维服务", "网络设备维保", "视频会议系统集成", "安全运营服务", "机房搬迁实施",
                 "云平台驻场服务", "存储扩容项目", "桌面运维外包", "等保测评整改", "灾备系统建设"]
FUNCTIONS = ("site_admin", "noc_operator", "ops_leader", "procurement", "construction", "project_lead",
             "department_head")
COMMENTS_LOW = ["夜间故障响应偏慢，希望改进值守安排。", "巡检报告提交不及时，文档不够完整。",
                "备件更换周期太长，影响业务。", "沟通不够主动，变更前没有提前通知。",
                "The engineer arrived late and nobody told us why.", "同一故障反复出现，希望彻底解决。"]
COMPLAINTS = ["驻场工程师多次迟到，影响业务交接。", "故障处理超过约定时限，未及时通报进展。",
              "变更未提前通知，导致业务中断半小时。", "巡检报告内容与实际不符。", "服务热线长时间无人接听。",
              "工程师态度生硬，拒绝解释处理方案。", "备件到货延误一周，设备带病运行。"]
FINDINGS = ["经核实，值班安排存在空档，已调整排班。", "经核实，属实；已对责任工程师进行培训。",
            "经核实，备件库存不足，已补充安全库存。", "经调查，变更流程未执行到位，已重新宣贯。"]
DEPARTMENTS = ["华东运维一部", "华东运维二部", "网络技术部", "客户服务中心"]
SUMMARIES = {
    "P1": ["核心交换机宕机，业务网中断", "生产存储阵列双控故障", "数据中心 UPS 故障，部分机柜掉电"],
    "P2": ["汇聚交换机端口批量 down", "存储阵列硬盘告警，需更换故障盘", "虚拟化集群一台宿主机宕机"],
    "P3": ["视频会议终端无法入会", "无线网络信号差", "OA 系统登录缓慢", "VPN 账号无法登录"],
    "P4": ["防火墙策略变更申请", "新增用户账号及权限申请", "巡检报告补充签字", "网络拓扑图更新"],
}
ENGINEERS = ["周磊", "吴迪", "郑浩", "孙鹏", "钱涛", "冯凯", "蒋毅", "韩旭", "沈波", "陆远"]
#: share of a quarter's closed tickets per priority (as the demo's ticket system)
PRIORITY_SHARE = {"P1": 0.08, "P2": 0.21, "P3": 0.38, "P4": 0.33}
CASE_MAPPING = {"case_id": "工单号", "project_code": "项目编号", "priority": "优先级", "reporter": "申告人",
                "reporter_phone": "联系电话", "opened_at": "创建时间", "closed_at": "关闭时间",
                "summary": "问题描述", "engineer": "处理工程师"}


class _Ids:
    """The next free primary key of each table (max(id) + 1 when the seeding began)."""

    def __init__(self):
        self._next = {}

    def take(self, model, n=1) -> int:
        table = model.__table__
        if table.name not in self._next:
            self._next[table.name] = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
        first = self._next[table.name]
        self._next[table.name] = first + n
        return first


def _bulk(model, rows):
    """Insert ``rows`` (dicts with the same keys) in chunks; returns how many. On PostgreSQL a
    large batch goes through COPY, several times faster than multi-row INSERTs."""
    table = model.__table__
    if rows and db.engine.dialect.name == "postgresql" and len(rows) > CHUNK and _copy(table, rows):
        return len(rows)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start:start + CHUNK])
    return len(rows)


def _copy(table, rows) -> bool:
    """COPY ``rows`` into ``table`` on the session's connection; False (nothing done) when a column
    left out has a default only Python knows, which COPY would not apply."""
    names = list(rows[0])
    if any(c.default is not None and c.name not in names for c in table.c):
        return False
    as_json = {n for n in names if isinstance(table.c[n].type, JSON)}
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    columns = ", ".join(f'"{n}"' for n in names)
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([json.dumps(row[n]) if n in as_json else row[n] for n in names])
    return True


def _fix_sequences(models):
    """PostgreSQL: move each table's id sequence past the ids inserted here."""
    if db.engine.dialect.name != "postgresql":
        return
    for model in models:
        name = model.__table__.name
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                f"COALESCE((SELECT max(id) FROM {name}), 1))"))


def scale_loaded() -> int:
    """How many projects of a scale data set the database holds (0: none loaded)."""
    return db.session.scalar(select(func.count(Project.id)).where(Project.code.like(CODE_PREFIX + "%"))) or 0


def seed_scale(size_name, password, now=None) -> list:
    """Add the ``size_name`` data set (SIZES) unless one is loaded; returns summary lines with counts
    and seconds. Flushes; the caller commits."""
    size = SIZES[size_name]
    if scale_loaded():
        return [f"scale data already loaded ({scale_loaded()} projects {CODE_PREFIX}…): nothing added"]
    started = clock.perf_counter()
    seeder = _Seeder(size, password, now or utcnow())
    counts = seeder.run()
    seconds = clock.perf_counter() - started
    return [f"scale {size.name}: " + ", ".join(f"{n} {what}" for what, n in counts.items()),
            f"scale {size.name}: seeded in {seconds:.1f} s ({db.engine.dialect.name})"]


class _Seeder:
    def __init__(self, size, password, now):
        self.size = size
        self.password = password
        self.now = now
        self.rng = random.Random(f"portal-scale-{size.name}")
        self.ids = _Ids()
        self.zone = portal_zone()
        self.counts = {}
        self.current = quarter_of(now)
        self.quarters = [shift_quarter(self.current, -n) for n in range(size.quarters - 1, -1, -1)]
        self.triggered = []  # (response id, project, submitted_at, triggers): what opens a follow-up

    # --- time -------------------------------------------------------------------------------

    def utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc).replace(tzinfo=None)

    def quarter_span(self, quarter):
        """(start, end) naive UTC of a quarter, the current one ending an hour ago."""
        first, last = quarter_bounds(quarter)
        start = self.utc(datetime.combine(first, time()))
        end = min(self.utc(datetime.combine(last + timedelta(days=1), time())), self.now - timedelta(hours=1))
        return start, end

    def moment(self, start, end, *, workday=True) -> datetime:
        """A random instant in [start, end), in office hours when it can be."""
        at = start + timedelta(seconds=self.rng.random() * max(1.0, (end - start).total_seconds()))
        if workday:
            local = at.replace(tzinfo=timezone.utc).astimezone(self.zone)
            moved = local.replace(hour=self.rng.randint(8, 18), minute=self.rng.randint(0, 59))
            candidate = moved.astimezone(timezone.utc).replace(tzinfo=None)
            if start <= candidate < end:
                at = candidate
        return at.replace(microsecond=0)

    def count(self, what, n):
        self.counts[what] = self.counts.get(what, 0) + n

    # --- the run --------------------------------------------------------------------------------

    def run(self):
        self.load_references()
        self.seed_people()
        self.seed_clients()
        self.seed_projects()
        self.seed_rounds()
        self.seed_cases()
        self.seed_callbacks()
        self.insert_responses()
        self.seed_followups()
        self.seed_complaints()
        db.session.flush()
        _fix_sequences([User, Department, DepartmentMember, Client, Contact, Project, Milestone, SurveyRound,
                        RoundVersion, Invitation, Response, Answer, CaseImport, ServiceCase, CallbackDraw,
                        CallbackTask, CallAttempt, FollowUp, FollowUpEvent, Complaint, ComplaintEvent])
        return self.counts

    def load_references(self):
        from ..services.callbacks.sampling import rates
        from ..services.settings import get_setting
        self.rates = rates()
        self.threshold = get_setting("followup.low_score_threshold")
        self.demo = {u.username: u for u in db.session.scalars(select(User))}
        self.versions = {}
        for kind in ("pm_quarterly", "callback"):
            for language in ("zh", "en"):
                self.versions[kind, language] = db.session.scalars(
                    select(TemplateVersion).join(Template)
                    .where(Template.kind == kind, Template.language == language)
                    .order_by(TemplateVersion.number.desc())).first()
        self.questions = {v.id: [self._question(q) for q in v.questions] for v in self.versions.values()}

    @staticmethod
    def _question(q):
        """(id, code, text, type, options [(raw, points, label)] best first, allow_na, lo, hi)."""
        options = []
        if q.scale is not None and q.scale.style == "labels":
            options = sorted(((o.value, o.points, o.label_zh) for o in q.scale.options), key=lambda o: -o[1])
        return q.id, q.code, q.text, q.type, options, q.allow_na

    # --- people ---------------------------------------------------------------------------------

    def seed_people(self):
        from ..services.accounts import create_user
        s = self.size
        made = []
        for prefix, role, n, title in (("spm", "pm", s.pms, "项目经理"), ("ssales", "sales", s.sales, "销售"),
                                       ("squality", "quality", s.agents, "质量部")):
            for i in range(1, n + 1):
                name = self.person()
                made.append(create_user(f"{prefix}{i:02d}", self.password, [role], display_name=f"{title} {name}",
                                        email=f"{prefix}{i:02d}@example.com"))
        self.count("users", len(made))
        self.pms = [u for u in made if u.username.startswith("spm")]
        self.sales = [u for u in made if u.username.startswith("ssales")]
        self.agents = [self.demo["quality1"]] + [u for u in made if u.username.startswith("squality")]
        departments, members = [], []
        self.departments = []
        first = self.ids.take(Department, len(DEPARTMENTS))
        existing = set(db.session.scalars(select(Department.name)))
        member_id = self.ids.take(DepartmentMember, len(DEPARTMENTS) * 4)
        for i, name in enumerate(DEPARTMENTS):
            if name in existing:
                continue
            head = self.pms[i % len(self.pms)]
            departments.append({"id": first + i, "name": name, "head_id": head.id, "active": True,
                                "created_at": self.now - timedelta(days=3 * 365)})
            team = {head.id} | {self.pms[(i + k * len(DEPARTMENTS)) % len(self.pms)].id for k in range(1, 4)}
            for user_id in sorted(team):
                members.append({"id": member_id, "department_id": first + i, "user_id": user_id})
                member_id += 1
            self.departments.append((first + i, head.id, sorted(team)))
        _bulk(Department, departments)
        _bulk(DepartmentMember, members)
        self.count("departments", len(departments))
        if not self.departments:  # a database that had them: route to the existing ones
            self.departments = [(d.id, d.head_id or self.demo["quality1"].id, [d.head_id or self.demo["quality1"].id])
                                for d in db.session.scalars(select(Department))]

    def person(self):
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    def seed_clients(self):
        s = self.size
        taken = set(db.session.scalars(select(Client.name)))
        first = self.ids.take(Client, s.clients)
        contact_id = self.ids.take(Contact, s.clients * s.contacts_per_client)
        clients, contacts = [], []
        self.contacts = {}   # client id -> [(id, name, phone, language, opted_out)]
        created = self.now - timedelta(days=s.quarters * 92 + 30)
        for i in range(s.clients):
            name = f"{CITIES[i % len(CITIES)]}{SECTORS[(i // len(CITIES) + i) % len(SECTORS)]}"
            if name in taken:
                name = f"{name}（{i + 1}）"
            taken.add(name)
            clients.append({"id": first + i, "name": name, "key_account": False, "created_at": created})
            rows = []
            for j in range(s.contacts_per_client):
                language = "en" if self.rng.random() < 0.1 else "zh"
                opted_out = self.rng.random() < 0.01
                row = {"id": contact_id, "client_id": first + i, "name": self.person(),
                       "function": FUNCTIONS[j % len(FUNCTIONS)],
                       "phone": f"13{i:03d}{j:03d}{self.rng.randint(0, 99999):05d}",
                       "email": f"c{j}@scale-client{i}.example.cn", "language": language, "opted_out": opted_out,
                       "opted_out_at": created + timedelta(days=30) if opted_out else None, "created_at": created}
                contacts.append(row)
                rows.append(row)
                contact_id += 1
            self.contacts[first + i] = rows
        self.count("clients", _bulk(Client, clients))
        self.count("contacts", _bulk(Contact, contacts))
        self.client_ids = [c["id"] for c in clients]

    def seed_projects(self):
        s = self.size
        window_start = quarter_bounds(self.quarters[0])[0]
        today = self.now.date()
        first = self.ids.take(Project, s.projects)
        milestone_id = self.ids.take(Milestone, 3 * s.projects)
        projects, milestones = [], []
        self.projects = []
        pm1, pm2, sales1, sales2 = (self.demo[n] for n in ("pm1", "pm2", "sales1", "sales2"))
        for i in range(s.projects):
            client_id = self.client_ids[i % len(self.client_ids)]
            pm = pm1 if i % 20 == 0 else pm2 if i % 20 == 1 else self.pms[i % len(self.pms)]
            sales = sales1 if i % 15 == 0 else sales2 if i % 15 == 1 else self.sales[i % len(self.sales)]
            late = self.rng.random() < 0.15
            start = window_start + timedelta(days=self.rng.randint(200, (today - window_start).days - 60)) if late \
                else window_start - timedelta(days=self.rng.randint(30, 400))
            end = start + timedelta(days=self.rng.choice((730, 1095, 1460)))
            early_end = self.rng.random() < 0.1
            if early_end:
                end = min(end, today - timedelta(days=self.rng.randint(30, 500)))
                end = max(end, start + timedelta(days=120))
            status = "completed" if end < today else ("suspended" if self.rng.random() < 0.02 else "active")
            code = f"{CODE_PREFIX}{start.year}-{i + 1:04d}"
            project_id = first + i
            accepted = start + timedelta(days=185)
            projects.append({"id": project_id, "code": code,
                             "name": f"{PROJECT_KINDS[i % len(PROJECT_KINDS)]}（{code}）", "client_id": client_id,
                             "pm_id": pm.id, "sales_id": sales.id, "status": status, "start_date": start,
                             "end_date": end, "description": None,
                             "created_at": datetime.combine(start - timedelta(days=7), time(2, 0))})
            for name, planned, reached, key in (
                    ("项目启动", start, start, False),
                    ("初验", start + timedelta(days=180), accepted if accepted < today else None, True),
                    ("终验", end, end if end < today else None, True)):
                milestones.append({"id": milestone_id, "project_id": project_id, "name": name, "planned_date": planned,
                                   "reached_date": reached, "is_key": key})
                milestone_id += 1
            self.projects.append({"id": project_id, "client_id": client_id, "pm_id": pm.id, "start": start,
                                  "end": end, "status": status, "en": i % 9 == 8})
        self.count("projects", _bulk(Project, projects))
        _bulk(Milestone, milestones)

    def active_in(self, project, quarter):
        first, last = quarter_bounds(quarter)
        return project["start"] <= last and project["end"] >= first

    # --- rounds, invitations and their responses --------------------------------------------------

    def seed_rounds(self):
        s = self.size
        pq = self.versions["pm_quarterly", "zh"], self.versions["pm_quarterly", "en"]
        rounds, round_versions, invitations = [], [], []
        self.responses, self.answers = [], []
        plan = [(p, q) for q in self.quarters for p in self.projects if self.active_in(p, q)]
        round_id = self.ids.take(SurveyRound, len(plan))
        rv_id = self.ids.take(RoundVersion, 2 * len(plan))
        invitation_id = self.ids.take(Invitation, len(plan) * s.invited_per_round)
        for project, quarter in plan:
            first, last = quarter_bounds(quarter)
            chosen = pq[1] if project["en"] else pq[0]
            opened_on = self.utc(datetime.combine(first + timedelta(days=20), time(9, 30)))
            if opened_on >= self.now:
                continue
            past = quarter != self.current
            end_of_round = self.utc(datetime.combine(last, time(23, 59, 59)))
            rounds.append({"id": round_id, "project_id": project["id"], "quarter": quarter,
                           "template_version_id": chosen.id, "due_date": last, "created_by_id": project["pm_id"],
                           "created_at": opened_on, "closed_at": end_of_round if past else None})
            for language, version in (("zh", pq[0]), ("en", pq[1])):
                round_versions.append({"id": rv_id, "round_id": round_id, "language": language,
                                       "template_version_id": version.id})
                rv_id += 1
            eligible = [c for c in self.contacts[project["client_id"]] if not c["opted_out"]]
            answered = s.answered if past else s.answered * 0.6
            _start, span_end = self.quarter_span(quarter)
            for contact in self.rng.sample(eligible, min(s.invited_per_round, len(eligible))):
                language = contact["language"]
                token = f"scale-{invitation_id}-{self.rng.getrandbits(64):016x}"
                roll = self.rng.random()
                opened = used = None
                if roll < answered + 0.05:
                    opened = self.moment(opened_on + timedelta(hours=2), span_end)
                if roll < answered and opened is not None:
                    used = min(opened + timedelta(minutes=self.rng.randint(4, 25)), span_end)
                invitations.append({
                    "id": invitation_id, "round_id": round_id, "contact_id": contact["id"],
                    "token_hash": hashlib.sha256(token.encode()).hexdigest(), "language": language,
                    "token_encrypted": None, "expires_at": end_of_round, "created_at": opened_on, "sent_count": 1,
                    "reminded_count": 0, "last_sent_at": opened_on + timedelta(hours=1), "opened_at": opened,
                    "link_issued_at": opened_on, "used_at": used, "draft": None, "draft_saved_at": None})
                if used is not None:
                    version = pq[1] if language == "en" else pq[0]
                    paper = self.rng.random() < 0.15
                    self.add_response(version, project, quarter_of(used), "paper" if paper else "online",
                                      started_at=opened, submitted_at=used, round_id=round_id,
                                      invitation_id=invitation_id, contact_id=contact["id"],
                                      entered_by_id=project["pm_id"] if paper else None)
                invitation_id += 1
            round_id += 1
        self.count("rounds", _bulk(SurveyRound, rounds))
        _bulk(RoundVersion, round_versions)
        self.count("invitations", _bulk(Invitation, invitations))

    def add_response(self, version, project, quarter, channel, *, submitted_at, started_at=None, round_id=None,
                     invitation_id=None, contact_id=None, entered_by_id=None):
        """One response with its answers (kept in memory until insert_responses); returns its id."""
        response_id = self.ids.take(Response)
        unhappy = self.rng.random() < 0.08
        answers = []
        for question_id, code, text_, qtype, options, allow_na in self.questions[version.id]:
            raw = normalized = text_value = shown = None
            is_na = False
            if qtype == "text":
                if not unhappy:
                    continue
                text_value = shown = self.rng.choice(COMMENTS_LOW)
            elif allow_na and self.rng.random() < 0.05:
                is_na = True
            elif options:
                # satisfied forms only pick options worth 4 or more; unhappy ones mostly 3 or less
                good = [o for o in options if o[1] > self.threshold]
                bad = [o for o in options if o[1] <= self.threshold] or options
                pool = bad if unhappy and self.rng.random() < 0.7 else good
                weights = [3, 2, 1, 1, 1, 1, 1, 1, 1, 1][:len(pool)]
                raw, normalized, label = self.rng.choices(pool, weights=weights)[0]
                shown = f"{label} ({raw:g})"
            else:
                continue
            answers.append({"id": None, "response_id": response_id, "question_id": question_id, "raw_value": raw,
                            "text_value": text_value, "is_na": is_na, "normalized": normalized,
                            "_code": code, "_text": text_, "_shown": shown, "_type": qtype})
        score = response_score(a["normalized"] for a in answers)
        comment = "\n\n".join(a["text_value"] for a in answers if a["_type"] == "text" and a["text_value"]) or None
        past = quarter != self.current and quarter != shift_quarter(self.current, -1)
        roll = self.rng.random()
        if quarter == self.current:
            status = "pending" if roll < 0.55 else ("rejected" if roll < 0.57 else "authentic")
        else:
            status = "rejected" if roll < 0.03 else ("pending" if not past and roll < 0.08 else "authentic")
        verified = status != "pending"
        self.responses.append({
            "id": response_id, "template_version_id": version.id, "project_id": project["id"], "round_id": round_id,
            "invitation_id": invitation_id, "contact_id": contact_id, "quarter": quarter, "channel": channel,
            "entered_by_id": entered_by_id, "started_at": started_at, "submitted_at": submitted_at,
            "client_ip": "10.0.0.1" if channel == "online" else None,
            "user_agent": "Mozilla/5.0" if channel == "online" else None, "score": score, "comment": comment,
            "verification_status": status,
            "verification_reason": "重复提交，与同一联系人本季度另一份问卷一致" if status == "rejected" else None,
            "verified_by_id": self.demo["quality1"].id if verified else None,
            "verified_at": min(submitted_at + timedelta(days=self.rng.randint(1, 10)), self.now) if verified else None,
            "edited_at": None, "edit_count": 0, "legal_hold": False})
        self.answers.extend(answers)
        triggers = [{"reason": "comment" if a["_type"] == "text" else "low_score", "code": a["_code"],
                     "question": a["_text"], "answer": a["_shown"],
                     "normalized": None if a["_type"] == "text" else a["normalized"]}
                    for a in answers if not a["is_na"] and (a["_type"] == "text" or (
                        a["normalized"] is not None and a["normalized"] <= self.threshold))]
        if triggers:
            self.triggered.append((response_id, project, submitted_at, triggers))
        return response_id

    def insert_responses(self):
        first = self.ids.take(Answer, len(self.answers))
        rows = []
        for n, a in enumerate(self.answers):
            rows.append({"id": first + n, "response_id": a["response_id"], "question_id": a["question_id"],
                         "raw_value": a["raw_value"], "text_value": a["text_value"], "is_na": a["is_na"],
                         "normalized": a["normalized"]})
        self.count("responses", _bulk(Response, self.responses))
        self.count("answers", _bulk(Answer, rows))
        self.answers = []

    # --- tickets and the callback desk -----------------------------------------------------------

    def seed_cases(self):
        s = self.size
        cases, imports = [], []
        self.cases_by = {}   # (quarter, priority) -> [(external_id, case id, project, closed_at)]
        priorities = list(PRIORITY_SHARE)
        weights = list(PRIORITY_SHARE.values())
        for quarter in self.quarters:
            start, end = self.quarter_span(quarter)
            q_first, q_last = quarter_bounds(quarter)
            days = (q_last - q_first).days + 1
            share = min(1.0, (end - start).total_seconds() / (days * 86400))
            n = int(s.cases_per_quarter * share)
            active = [p for p in self.projects if self.active_in(p, quarter)] or self.projects
            import_id = self.ids.take(CaseImport)
            first_case = self.ids.take(ServiceCase, n)
            imported_at = min(end + timedelta(hours=9), self.now - timedelta(minutes=30))
            imports.append({"id": import_id, "file_name": f"工单导出_{quarter}.csv",
                            "sha256": hashlib.sha256(f"scale-{s.name}-{quarter}".encode()).hexdigest(),
                            "imported_by_id": self.demo["quality1"].id, "imported_at": imported_at,
                            "state": "imported", "encoding": "gb18030", "sheet": None, "mapping": CASE_MAPPING,
                            "rows_read": n, "rows_added": n, "rows_updated": 0, "rows_unchanged": 0,
                            "rows_rejected": 0, "errors": None})
            for k in range(n):
                priority = self.rng.choices(priorities, weights)[0]
                project = self.rng.choice(active)
                reporter = self.rng.choice(self.contacts[project["client_id"]])
                closed = self.moment(start, end, workday=False)
                if quarter_of(closed) != quarter:  # an instant on the boundary: keep it in the quarter
                    closed = start + timedelta(hours=1)
                external_id = f"{CODE_PREFIX}{quarter}-{k + 1:06d}"
                case_id = first_case + k
                cases.append({"id": case_id, "external_id": external_id, "project_id": project["id"],
                              "priority": priority, "reporter": reporter["name"], "reporter_phone": reporter["phone"],
                              "opened_at": closed - timedelta(minutes=self.rng.randint(40, 3 * 24 * 60)),
                              "closed_at": closed, "quarter": quarter,
                              "summary": self.rng.choice(SUMMARIES[priority]),
                              "engineer": self.rng.choice(ENGINEERS), "import_id": import_id,
                              "created_at": imported_at, "updated_at": None})
                self.cases_by.setdefault((quarter, priority), []).append((external_id, case_id, project, closed))
        self.count("case imports", _bulk(CaseImport, imports))
        self.count("cases", _bulk(ServiceCase, cases))

    def seed_callbacks(self):
        """Per quarter and priority: a draw of the best-ranked cases up to ⌈rate × closed⌉ (closed
        counting the quarter's cases already there), a few failed calls each replaced by the next
        case in rank, and the reached calls' callback forms."""
        from ..services.callbacks.sampling import quarter_seed, rank_of, required_for
        draws, tasks, attempts = [], [], []
        callback = self.versions["callback", "zh"]
        for quarter in self.quarters:
            seed = quarter_seed(quarter) or self.rng.randint(1, 2 ** 31)
            existing = dict(db.session.execute(
                select(ServiceCase.priority, func.count(ServiceCase.id))
                .where(ServiceCase.quarter == quarter, ServiceCase.external_id.not_like(CODE_PREFIX + "%"))
                .group_by(ServiceCase.priority)).all())
            active = dict(db.session.execute(
                select(CallbackTask.priority, func.count(CallbackTask.id))
                .where(CallbackTask.quarter == quarter, CallbackTask.kind == "ticket",
                       CallbackTask.state.in_(("open", "reached"))).group_by(CallbackTask.priority)).all())
            _start, span_end = self.quarter_span(quarter)
            for priority in PRIORITY_SHARE:
                cases = self.cases_by.get((quarter, priority), [])
                closed = len(cases) + existing.get(priority, 0)
                required = required_for(self.rates[priority], closed)
                wanted = max(0, required - active.get(priority, 0))
                if not wanted:
                    continue
                ranked = sorted(cases, key=lambda c: rank_of(seed, c[0], False))
                draw_id = self.ids.take(CallbackDraw)
                drawn_at = min(min(c[3] for c in cases) + timedelta(hours=2), span_end - timedelta(minutes=40))
                chosen, spare = ranked[:wanted], ranked[wanted:]
                replacements = []
                task_rows = []
                for place, case in enumerate(chosen):
                    task_rows.append(self.task(case, quarter, priority, draw_id, seed, drawn_at, span_end,
                                               callback, attempts, allow_fail=bool(spare)))
                    if task_rows[-1]["state"] == "failed" and spare:
                        replacement = spare.pop(0)
                        replacements.append((task_rows[-1], replacement))
                for failed, case in replacements:
                    row = self.task(case, quarter, priority, draw_id, seed, failed["closed_at"], span_end, callback,
                                    attempts, allow_fail=False, reason_at=failed["closed_at"])
                    failed["replaced_by_id"] = row["id"]
                    task_rows.append(row)
                tasks.extend(task_rows)
                draws.append({"id": draw_id, "quarter": quarter, "priority": priority, "seed": seed,
                              "rate": self.rates[priority], "closed": closed, "required": required,
                              "added": len(task_rows), "reason": "top_up" if active.get(priority) else "first",
                              "drawn_by_id": self.demo["quality1"].id, "drawn_at": drawn_at})
        self.count("callback draws", _bulk(CallbackDraw, draws))
        self.pending_tasks = sorted(tasks, key=lambda t: t["replaced_by_id"] is not None)
        self.pending_attempts = attempts

    def task(self, case, quarter, priority, draw_id, seed, drawn_at, span_end, callback, attempts, allow_fail,
             reason_at=None):
        """A drawn case's call: drawn at the weekly top-up after it closed (a replacement when the task
        it replaces failed), called within the quarter."""
        from ..services.callbacks.sampling import rank_of
        external_id, case_id, project, closed = case
        task_id = self.ids.take(CallbackTask)
        agent = self.rng.choice(self.agents)
        current = quarter == self.current
        latest = span_end - timedelta(minutes=30)
        created = min(max(reason_at or closed, closed) + timedelta(hours=self.rng.randint(1, 72)), latest)
        created = max(created, closed)
        roll = self.rng.random()
        state = "open" if current and roll < 0.45 else ("failed" if allow_fail and roll > 0.93 else "reached")
        first_call = min(created + timedelta(hours=self.rng.randint(1, 30)), latest)
        outcomes = []
        if state == "reached":
            outcomes = (["no_answer"] if self.rng.random() < 0.3 else []) + ["reached"]
        elif state == "failed":
            outcomes = [self.rng.choice(("refused", "wrong_number"))]
        elif self.rng.random() < 0.3:
            outcomes = ["no_answer"]
        at = first_call
        for outcome in outcomes:
            attempts.append({"id": self.ids.take(CallAttempt), "task_id": task_id, "at": at, "by_id": agent.id,
                             "outcome": outcome, "note": None})
            at = min(at + timedelta(hours=4), span_end - timedelta(minutes=5))
        at = max(at, first_call)
        response_id = None
        if state == "reached":
            submitted = min(at, span_end - timedelta(minutes=1))
            response_id = self.add_response(callback, project, quarter, "phone", submitted_at=submitted,
                                            started_at=submitted - timedelta(minutes=5), entered_by_id=agent.id)
        return {"id": task_id, "kind": "ticket", "case_id": case_id, "draw_id": draw_id, "project_id": project["id"],
                "quarter": quarter, "priority": priority, "rank": rank_of(seed, external_id, False),
                "key_account_id": None, "scheduled_on": None, "due_on": None, "contact_id": None,
                "assigned_to_id": agent.id, "state": state, "attempts_count": len(outcomes),
                "response_id": response_id, "failed_reason": outcomes[-1] if state == "failed" else None,
                "replaced_by_id": None, "created_at": created,
                "closed_at": at if state != "open" else None, "version": 1 + len(outcomes)}

    # --- follow-ups and complaints -------------------------------------------------------------

    def seed_followups(self):
        # the tasks name their responses: insert them now that the responses are in
        self.count("callback tasks", _bulk(CallbackTask, self.pending_tasks))
        self.count("call attempts", _bulk(CallAttempt, self.pending_attempts))
        followups, events = [], []
        first = self.ids.take(FollowUp, len(self.triggered))
        desk = self.demo["pmo1"].id
        for n, (response_id, project, submitted, triggers) in enumerate(self.triggered):
            followup_id = first + n
            age = (self.now - submitted).days
            roll = self.rng.random()
            state = ("closed" if age > 45 or roll < 0.3 else "resolved" if roll < 0.45
                     else "contacted" if roll < 0.75 else "open")
            due = submitted.date() + timedelta(days=14)
            contacted = submitted + timedelta(days=self.rng.randint(1, 4))
            resolved = contacted + timedelta(days=self.rng.randint(1, 6))
            verified = resolved + timedelta(days=self.rng.randint(1, 3))
            if state != "open" and contacted >= self.now:
                state = "open"
            if state in ("resolved", "closed") and resolved >= self.now:
                state = "contacted"
            if state == "closed" and verified >= self.now:
                state = "resolved"
            steps = [("opened", None, "open", submitted, None)]
            if state != "open":
                steps += [("record_contact", "open", "contacted", contacted, "已致电客户了解情况。")]
            if state in ("resolved", "closed"):
                steps += [("record_cause_and_actions", "contacted", "contacted", resolved - timedelta(hours=2),
                           "已查明原因并落实整改。"), ("resolve", "contacted", "resolved", resolved, "整改完成。")]
            if state == "closed":
                steps += [("verify", "resolved", "closed", verified, "已核实，同意关闭。")]
            actor = project["pm_id"]
            for action, before, after, at, note in steps:
                events.append({"id": self.ids.take(FollowUpEvent), "followup_id": followup_id, "at": at,
                               "actor_id": None if action == "opened" else (desk if action == "verify" else actor),
                               "action": action, "from_state": before, "to_state": after, "note": note})
            followups.append({
                "id": followup_id, "response_id": response_id, "project_id": project["id"], "owner_id": actor,
                "state": state, "direction": self.rng.choice(("timeliness", "technical", "communication",
                                                              "documentation", "attitude")),
                "problem_type": "complaint", "triggers": triggers, "due_on": due, "due_calendar_missing": None,
                "contacted_at": contacted if state != "open" else None,
                "contact_how": "phone" if state != "open" else None,
                "contact_note": "已致电客户了解情况。" if state != "open" else None,
                "cause": "值守安排不足" if state in ("resolved", "closed") else None,
                "corrective_action": "调整排班" if state in ("resolved", "closed") else None,
                "preventive_action": "每月复盘" if state in ("resolved", "closed") else None,
                "department_id": None, "escalated_to_id": None, "escalation_reason": None, "escalated_at": None,
                "escalation_answer": None, "answered_by_id": None, "answered_at": None,
                "resolved_at": resolved if state in ("resolved", "closed") else None,
                "verified_by_id": desk if state == "closed" else None,
                "verified_at": verified if state == "closed" else None, "reopen_count": 0, "reopen_reason": None,
                "overdue_notified_on": None, "created_at": submitted, "version": len(steps)})
        self.count("follow-ups", _bulk(FollowUp, followups))
        _bulk(FollowUpEvent, events)

    #: the workflow's path (action, from, to, clock) up to each state a complaint may rest in
    PATH = (("accept", "registered", "accepted", None), ("assign", "accepted", "assigned", None),
            ("record_contact", "assigned", "assigned", "first_contact"),
            ("investigate", "assigned", "investigated", None),
            ("propose_remedy", "investigated", "remedy_proposed", None),
            ("approve", "remedy_proposed", "approved", None), ("notify_client", "approved", "notified", "stop"),
            ("close", "notified", "closed", None))
    RESTING = ("registered", "accepted", "assigned", "investigated", "remedy_proposed", "approved", "notified",
               "closed")

    def seed_complaints(self):
        s = self.size
        start, _end = self.quarter_span(self.quarters[0])
        complaints, events = [], []
        first = self.ids.take(Complaint, s.complaints)
        moments = sorted(self.moment(start, self.now - timedelta(hours=2)) for _ in range(s.complaints))
        numbers = {}
        quality = self.demo["quality1"].id
        channels = ("phone", "email", "chat", "letter", "in_person", "web_form", "callback")
        for n, registered in enumerate(moments):
            year = registered.replace(tzinfo=timezone.utc).astimezone(self.zone).year
            if year not in numbers:
                last = db.session.scalar(select(Complaint.reference).where(Complaint.reference.like(f"TS-{year}-%"))
                                         .order_by(Complaint.reference.desc()).limit(1))
                numbers[year] = int(last.rsplit("-", 1)[1]) if last else 0
            numbers[year] += 1
            complaint_id = first + n
            project = self.rng.choice(self.projects)
            contact = self.rng.choice(self.contacts[project["client_id"]])
            department_id, head_id, team = self.rng.choice(self.departments)
            owner_id = self.rng.choice(team)
            age = (self.now - registered).days
            if self.rng.random() < 0.08:
                state = "invalid"
            elif age > 60:
                state = "closed"
            else:
                state = self.rng.choice(self.RESTING)
            channel = self.rng.choice(channels)
            major = self.rng.random() < 0.03
            steps = [("registered", None, "registered", "start", registered, {"channel": channel, "major": major})]
            at = registered
            if state == "invalid":
                at = min(at + timedelta(hours=self.rng.randint(1, 20)), self.now - timedelta(minutes=30))
                steps.append(("judge_invalid", "registered", "invalid", "stop", at, None))
            elif state != "registered":
                for action, before, after, mark in self.PATH:
                    at = min(at + timedelta(hours=self.rng.randint(2, 30)), self.now - timedelta(minutes=30))
                    steps.append((action, before, after, mark, at, None))
                    if after == state and action != "assign":  # an assigned one has had its first contact
                        break
            reached = {s_[0] for s_ in steps}
            notified_at = next((s_[4] for s_ in steps if s_[0] == "notify_client"), None)
            approved_at = next((s_[4] for s_ in steps if s_[0] == "approve"), None)
            closed_at = next((s_[4] for s_ in steps if s_[0] in ("close", "judge_invalid")), None)
            remedy = "rework" if self.rng.random() < 0.6 else "apology"
            for action, before, after, mark, when, detail in steps:
                events.append({"id": self.ids.take(ComplaintEvent), "complaint_id": complaint_id, "at": when,
                               "actor_id": quality if action in ("accept", "assign", "judge_invalid", "registered")
                               else owner_id, "action": action, "from_state": before, "to_state": after,
                               "clock": mark, "note": None, "detail": detail})
            complaints.append({
                "id": complaint_id, "reference": f"TS-{year}-{numbers[year]:05d}", "channel": channel,
                "state": steps[-1][2], "major": major, "complex": False, "contact_id": contact["id"],
                "complainant_name": contact["name"], "complainant_phone": contact["phone"],
                "complainant_email": None, "complainant_language": None, "client_id": project["client_id"],
                "project_id": project["id"],
                "direction": self.rng.choice(("timeliness", "technical", "attitude", "communication")),
                "problem_type": "complaint", "description": self.rng.choice(COMPLAINTS), "response_id": None,
                "invalid_reason": "与本公司服务无关" if state == "invalid" else None,
                "department_id": department_id if "assign" in reached else None,
                "owner_id": owner_id if "assign" in reached else None,
                "findings": self.rng.choice(FINDINGS) if "investigate" in reached else None,
                "company_fault": True if "investigate" in reached else None, "responsible_employee": None,
                "remedy_kind": remedy if "propose_remedy" in reached else None, "compensation_amount": None,
                "remedy": "返工并书面致歉" if "propose_remedy" in reached else None,
                "approved_by_id": head_id if approved_at else None, "approved_at": approved_at,
                "notified_how": "phone" if notified_at else None, "notified_at": notified_at,
                "notification": "已电话告知客户处理结果。" if notified_at else None, "reopen_count": 0,
                "registered_by_id": quality, "created_at": registered, "closed_at": closed_at,
                "version": len(steps)})
        self.count("complaints", _bulk(Complaint, complaints))
        self.count("complaint events", _bulk(ComplaintEvent, events))
