"""Idempotent demo data: a living system for a newcomer (DESIGN §9)."""
from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Client, Contact, Milestone, Project
from ..services.accounts import create_user, find_user
from ..services.quarters import local_today

DEMO_USERS = [
    ("admin", "系统管理员", ["admin"]),
    ("quality1", "质量部 王芳", ["quality"]),
    ("pmo1", "PMO 主任 李强", ["pmo"]),
    ("archive1", "行政部 赵敏", ["archive"]),
    ("exec1", "技术总监 陈刚", ["exec"]),
    ("pm1", "项目经理 张伟", ["pm"]),
    ("pm2", "项目经理 刘洋", ["pm"]),
    ("sales1", "销售 孙丽", ["sales"]),
    ("sales2", "销售 周杰", ["sales"]),
]

#: the demo clients; demo.key_accounts makes the first two key accounts (by proposal and approval),
#: leaves a proposal for the third pending and declines the fourth
DEMO_CLIENTS = ["华东电网信息通信公司", "上海市第一人民医院", "江苏银行数据中心", "杭州城市轨道交通集团",
                "苏州工业园区管委会", "宁波港集团信息中心"]

CONTACT_NAMES = ["王建国", "李晓红", "张志强", "刘海燕", "陈立新", "杨光", "赵丽华",
                 "黄志明", "周小平", "吴敏", "徐磊", "孙倩", "马骏", "朱婷"]
FUNCTIONS = ["site_admin", "noc_operator", "ops_leader", "procurement", "construction",
             "project_lead", "department_head"]
PROJECT_KINDS = ["数据中心运维服务", "网络设备维保", "视频会议系统集成", "安全运营服务",
                 "机房搬迁实施", "云平台驻场服务", "存储扩容项目"]


def load_demo_data(password, today=None):
    """Create what is missing; running it twice changes nothing. Returns summary lines."""
    today = today or local_today()
    users = {name: _ensure_user(name, display, roles, password) for name, display, roles in DEMO_USERS}
    clients = [_ensure_client(i, name) for i, name in enumerate(DEMO_CLIENTS)]
    projects = [_ensure_project(i, clients, users, today) for i in range(20)]
    db.session.flush()
    lines = [f"{len(users)} users, {len(clients)} clients, {len(projects)} projects"]
    from . import key_accounts as demo_key_accounts
    lines += demo_key_accounts.load(clients, users, today)
    from . import rounds as demo_rounds
    lines += demo_rounds.load(users, projects, today)
    from . import followups as demo_followups
    from . import inquiries as demo_inquiries
    lines += demo_inquiries.load(projects, users, today)
    lines += demo_followups.load(projects, users, today)
    from . import callbacks as demo_callbacks
    lines += demo_callbacks.load(projects, users, today)
    lines += _ensure_departments(users)
    lines += demo_followups.route_one(users)
    from . import complaints as demo_complaints
    lines += demo_complaints.load(projects, users, today)
    from . import improvement as demo_improvement
    lines += demo_improvement.load(projects, users, today)
    from . import rollup as demo_rollup
    lines += demo_rollup.load(projects, users, today)
    from . import archive as demo_archive
    lines += demo_archive.load(projects, users, today)
    return lines


#: (name, head, members) by demo user name
DEMO_DEPARTMENTS = [
    ("运维服务部", "pm1", ["pm2"]),
    ("技术支持部", "pmo1", ["pm2", "quality1"]),
]


def _ensure_departments(users):
    """The two demo departments, each created only if its name is not taken yet."""
    from ..models import Department
    from ..services.departments import create_department
    made = 0
    for name, head, members in DEMO_DEPARTMENTS:
        if db.session.scalar(select(Department.id).where(Department.name == name)) is None:
            create_department(name, head=users[head], members=[users[m] for m in members], actor=None)
            made += 1
    return [f"{len(DEMO_DEPARTMENTS)} departments ({made} new)"]


def _ensure_user(username, display, roles, password):
    user = find_user(username)
    if user is None:
        user = create_user(username, password, roles, display_name=display,
                           email=f"{username}@example.com")
    return user


def _ensure_client(index, name):
    client = db.session.scalar(select(Client).where(Client.name == name))
    if client is None:
        client = Client(name=name)  # a key account only by decision (demo.key_accounts)
        db.session.add(client)
        for j, function in enumerate(FUNCTIONS):
            person = CONTACT_NAMES[(index * 3 + j) % len(CONTACT_NAMES)]
            db.session.add(Contact(
                client=client, name=person, function=function,
                phone=f"139{index:02d}{j:02d}{(index * 7 + j) % 10000:04d}",
                email=f"c{index}{j}@client{index}.example.cn",
                language="zh" if (index + j) % 4 else "en",
                opted_out=(index == 5 and j == 6)))
    return client


def _ensure_project(i, clients, users, today):
    code = f"PRJ-{today.year - 1}-{i + 1:03d}"
    project = db.session.scalar(select(Project).where(Project.code == code))
    if project is not None:
        return project
    client = clients[i % len(clients)]
    status = "completed" if i % 7 == 3 else ("suspended" if i == 13 else "active")
    start = today - timedelta(days=420 - i * 11)
    completed = status == "completed"
    # a completed project ended (final acceptance reached) in the past, so its inquiry can be due;
    # set only when the project is created, so a second run changes nothing
    end = min(start + timedelta(days=240), today - timedelta(days=13)) if completed \
        else start + timedelta(days=540)
    project = Project(
        code=code, name=f"{client.name[:6]}{PROJECT_KINDS[i % len(PROJECT_KINDS)]}",
        client=client, pm=users["pm1"] if i % 2 == 0 else users["pm2"],
        sales=users["sales1"] if i % 3 else users["sales2"], status=status,
        start_date=start, end_date=end)
    project.milestones = [
        Milestone(name="项目启动", planned_date=start, reached_date=start),
        Milestone(name="初验", planned_date=start + timedelta(days=180),
                  reached_date=start + timedelta(days=185) if i % 4 == 0 or completed else None,
                  is_key=True),
        Milestone(name="终验", planned_date=end if completed else start + timedelta(days=360),
                  reached_date=end if completed else None, is_key=True),
    ]
    db.session.add(project)
    return project
