"""The quality desk's pages: a ticket import through upload → column mapping with a preview →
the import job's page → the import's outcome (and a rejected file with its errors); drawing the
quarter's sample, logging attempts in place, the callback form, the summary (page, PDF, XLSX);
PMs and sales only read their own projects' calls."""
import csv
import io
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from portal.models import CallbackTask, CaseImport, Job, Response, ServiceCase, User

from ..factories import SALES_VISIT_QUESTIONS  # noqa: F401  (same factories module)

HX = {"HX-Request": "true"}
HEADERS = ("工单号", "项目编号", "优先级", "申告人", "联系电话", "创建时间", "关闭时间", "问题描述", "处理工程师")
CALLBACK_QUESTIONS = [
    dict(code="satisfaction", text="对本次服务是否满意", type="scale", scale="sat5_a", dimension="overall"),
    dict(code="opinion", text="意见和建议", type="text", required=False),
]


@pytest.fixture
def desk(make):
    pm = make.user("pm_d", roles=("pm",))
    make.user("pm_other_d", roles=("pm",))
    make.user("sales_d", roles=("sales",))
    make.user("q_d", roles=("quality",), display_name="质量部 周")
    make.user("admin_d", roles=("admin",))
    project = make.project(pm=pm, code="PRJ-D-1", name="机房运维")
    version = make.template_version(kind="callback", questions=CALLBACK_QUESTIONS)
    return {"pm": pm, "project": project, "version": version}


def export(rows, encoding="gb18030"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def rows(n, code="PRJ-D-1", priority="紧急"):
    return [(f"GD-{i:03d}", code, priority, f"申告人{i}", f"1390000{i:04d}", "2026-10-03 14:05",
             "2026-10-04 09:30", "故障", "周磊") for i in range(n)]


def upload(client, data, name="工单导出.csv"):
    token = client.csrf_token("/cases/import")
    return client.post("/cases/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def start_import(client, page_html):
    form = dict(re.findall(r'<select[^>]*name="(map_\w+)"[^>]*>.*?<option selected value="([^"]*)"', page_html,
                           re.S))
    stored = re.search(r'name="stored"[^>]*value="([^"]+)"', page_html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page_html).group(1)
    return client.post("/cases/import/start", data={"csrf_token": token, "stored": stored, **form})


def test_an_import_goes_through_the_mapping_preview_and_its_job(client, auth, desk, db):
    auth.login("q_d")
    step = upload(client, export(rows(12)))
    page = step.get_data(as_text=True)
    assert step.status_code == 200 and 'id="mapping-preview"' in page
    assert "gb18030" in page and "GD-000" in page and "申告人0" in page  # the preview reads the rows
    done = start_import(client, page)
    assert done.status_code == 303 and "/jobs/" in done.headers["Location"]
    job_page = client.get(done.headers["Location"]).get_data(as_text=True)
    job = db.session.scalar(select(Job))
    status_box = job_page[job_page.index('id="job-status"'):]
    assert job.state == "done" and 'data-state="done"' in job_page and "every 1s" not in status_box
    imp = db.session.get(CaseImport, job.result["import_id"])
    assert (imp.state, imp.rows_added) == ("imported", 12)
    detail = client.get(f"/cases/imports/{imp.id}").get_data(as_text=True)
    assert "工单导出.csv" in detail and imp.sha256 in detail
    assert db.session.scalar(select(func.count(ServiceCase.id))) == 12
    assert "GD-011" in client.get("/cases/?q=GD-011").get_data(as_text=True)


def test_a_wrong_file_imports_nothing_and_lists_its_errors(client, auth, desk, db):
    auth.login("q_d")
    bad = rows(3) + [("GD-100", "NO-SUCH", "紧急", "王", "", "", "2026-10-04 09:30", "", "")]
    done = start_import(client, upload(client, export(bad)).get_data(as_text=True))
    job = db.session.scalar(select(Job))
    imp = db.session.get(CaseImport, job.result["import_id"])
    assert imp.state == "rejected" and db.session.scalar(select(func.count(ServiceCase.id))) == 0
    detail = client.get(f"/cases/imports/{imp.id}").get_data(as_text=True)
    assert "NO-SUCH" in detail and 'id="import-errors"' in detail
    errors = client.get(f"/cases/imports/{imp.id}/errors.csv")
    assert errors.status_code == 200 and "NO-SUCH" in errors.data.decode("utf-8-sig")
    assert done.status_code == 303


def test_a_file_that_is_not_a_table_is_refused_at_upload(client, auth, desk):
    auth.login("q_d")
    response = upload(client, b"PK\x03\x04 not really a workbook", name="x.xlsx")
    assert response.status_code == 422


@pytest.mark.parametrize("username", ["pm_d", "sales_d", "admin_d"])
def test_only_the_quality_desk_draws_and_logs_calls(client, auth, desk, db, username, make):
    _cases(db, desk["project"], 3)
    quality = db.session.scalar(select(func.min(CallbackTask.id)))
    assert quality is None
    auth.login(username)
    response = client.post_form("/callbacks/draw", {"quarter": "2026Q4"}, token_from="/")
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 0


def _cases(db, project, n, priority="P1"):
    for i in range(n):
        db.session.add(ServiceCase(external_id=f"C-{priority}-{i}", project_id=project.id, priority=priority,
                                   reporter=f"王{i}", reporter_phone="13800000000", quarter="2026Q4",
                                   closed_at=datetime(2026, 11, 3, 2, 0)))
    db.session.commit()


def test_draw_log_attempts_fill_the_form_and_read_the_summary(client, auth, desk, db):
    _cases(db, desk["project"], 5)  # P1 at 80 %: 4 calls
    auth.login("q_d")
    drawn = client.post_form("/callbacks/draw", {"quarter": "2026Q4"}, token_from="/callbacks/")
    assert drawn.status_code == 303
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 4
    index = client.get("/callbacks/?quarter=2026Q4").get_data(as_text=True)
    task = db.session.scalar(select(CallbackTask).order_by(CallbackTask.rank))
    assert f"/callbacks/tasks/{task.id}" in index  # the agent's own queue
    url, seen = f"/callbacks/tasks/{task.id}", task.version
    busy = client.post_form(f"{url}/attempt", {"outcome": "no_answer", "version": str(seen), "note": "无人接"},
                            htmx=True, token_from=url)
    assert busy.status_code == 200 and "无人接" in busy.get_data(as_text=True)
    stale = client.post_form(f"{url}/attempt", {"outcome": "busy", "version": str(seen)}, htmx=True,
                             token_from=url)  # a second agent's page, loaded before the first attempt
    assert stale.status_code == 409
    db.session.expire_all()
    task = db.session.get(CallbackTask, task.id)
    reached = client.post_form(f"{url}/attempt", {"outcome": "reached", "version": str(task.version)}, htmx=True,
                               token_from=url)
    page = reached.get_data(as_text=True)
    assert reached.status_code == 200 and 'id="callback-form-section"' in page
    recorded = client.post_form(f"{url}/form", {"version": str(desk["version"].id), "q_satisfaction": "2",
                                                "q_opinion": "工程师到场慢"}, token_from=url)
    assert recorded.status_code == 303
    response = db.session.scalar(select(Response).where(Response.channel == "phone"))
    assert response is not None and "/responses/" in recorded.headers["Location"]
    summary = client.get("/callbacks/summary?quarter=2026Q4").get_data(as_text=True)
    assert 'data-priority="P1"' in summary and "C-P1-" in summary
    assert client.get("/callbacks/summary/2026Q4.pdf").data.startswith(b"%PDF")
    assert client.get("/callbacks/summary/2026Q4.xlsx").data.startswith(b"PK")
    # the PM of the project reads the call, but cannot log on it; another PM cannot even read it
    auth.logout()
    auth.login("pm_d")
    assert client.get(url).status_code == 200
    assert client.post_form(f"{url}/attempt", {"outcome": "busy", "version": "1"}, token_from="/").status_code == 403
    auth.logout()
    auth.login("pm_other_d")
    assert client.get(url).status_code == 403


# --- key accounts' relationship calls (DESIGN §4.9) ---------------------------------------------

def _relationship_account(make, db, pm=None, sales=None, name=None):
    """A key account whose two-weekly schedule started four weeks ago, its calls created."""
    from datetime import timedelta
    from portal.models import KeyAccount
    from portal.services.key_accounts.schedule import create_due_tasks
    from portal.services.quarters import local_today
    client = make.client(name=name, key_account=True)
    contact = make.contact(client, name=f"联系人-{client.name}", phone="13712345678")
    project = make.project(pm=pm, sales=sales, client_=client)
    account = KeyAccount(client_id=client.id, callback_every_weeks=2,
                         callback_starts_on=local_today() - timedelta(weeks=4),
                         callback_contact_id=contact.id, callback_project_id=project.id)
    db.session.add(account)
    db.session.flush()
    create_due_tasks(account=account)
    db.session.commit()
    return account


@pytest.fixture
def relationship(make, db, desk):
    sales = db.session.scalar(select(User).where(User.username == "sales_d"))
    account = _relationship_account(make, db, pm=desk["pm"], sales=sales, name="国网华东分部")
    calls = db.session.scalars(select(CallbackTask).where(CallbackTask.key_account_id == account.id)
                               .order_by(CallbackTask.scheduled_on)).all()
    return {"account": account, "calls": calls, "missed": calls[0]}


def test_relationship_calls_are_in_the_desks_queue_without_any_ticket(client, auth, desk, relationship, db):
    assert db.session.scalar(select(func.count(ServiceCase.id))) == 0
    auth.login("q_d")
    page = client.get("/callbacks/").get_data(as_text=True)
    rows = re.findall(r'<tr data-kind="relationship"(.*?)</tr>', page, re.S)
    assert len(rows) == len(relationship["calls"]) >= 2
    first = rows[0]
    assert "Key account relationship call" in first and "国网华东分部" in first
    assert "联系人-国网华东分部" in first and "13712345678" in first
    assert first.startswith(" data-overdue") and "Overdue" in first  # four weeks ago: missed
    fragment = client.get("/callbacks/", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    due = re.search(r'id="home-relationship-calls" data-due="(\d+)" data-overdue="(\d+)"', home)
    assert due and int(due.group(2)) >= 1 and int(due.group(1)) >= int(due.group(2))


def test_a_relationship_call_is_worked_and_its_form_recorded_on_the_accounts_project(client, auth, desk,
                                                                                     relationship, db):
    from portal.models import FollowUp
    call = relationship["missed"]
    url = f"/callbacks/tasks/{call.id}"
    auth.login("q_d")
    page = client.get(url).get_data(as_text=True)
    assert 'data-kind="relationship"' in page and "Key account relationship call" in page
    assert "Scheduled on" in page and "Due on" in page and "data-overdue" in page
    assert "联系人-国网华东分部" in page and "13712345678" in page
    reached = client.post_form(f"{url}/attempt", {"outcome": "reached", "version": str(call.version)}, htmx=True,
                               token_from=url)
    assert reached.status_code == 200 and 'id="callback-form-section"' in reached.get_data(as_text=True)
    recorded = client.post_form(f"{url}/form", {"version": str(desk["version"].id), "q_satisfaction": "2",
                                                "q_opinion": "希望定期来访"}, token_from=url)
    assert recorded.status_code == 303 and "/responses/" in recorded.headers["Location"]
    response = db.session.scalar(select(Response).where(Response.channel == "phone"))
    assert response.project_id == relationship["account"].callback_project_id
    assert response.contact_id == relationship["account"].callback_contact_id
    db.session.expire_all()
    assert db.session.get(CallbackTask, call.id).state == "reached"
    assert db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id)) is not None


def test_a_refused_relationship_call_is_not_replaced(client, auth, desk, relationship, db):
    call = relationship["missed"]
    url = f"/callbacks/tasks/{call.id}"
    auth.login("q_d")
    refused = client.post_form(f"{url}/attempt", {"outcome": "refused", "version": str(call.version)}, htmx=True,
                               token_from=url)
    assert refused.status_code == 200 and "Not reached" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CallbackTask, call.id).replaced_by_id is None
    assert db.session.scalar(select(func.count(CallbackTask.id))) == len(relationship["calls"])


@pytest.mark.parametrize("username, reads", [("pm_d", True), ("sales_d", True), ("pm_other_d", False)])
def test_pm_and_sales_read_their_accounts_relationship_calls_but_never_work_them(client, auth, relationship,
                                                                               username, reads):
    call = relationship["missed"]
    url = f"/callbacks/tasks/{call.id}"
    auth.login(username)
    assert client.get(url).status_code == (200 if reads else 403)
    attempt = client.post_form(f"{url}/attempt", {"outcome": "reached", "version": str(call.version)},
                               token_from="/")
    assert attempt.status_code == 403


def test_the_queue_with_relationship_calls_takes_a_fixed_number_of_statements(client, auth, make, desk,
                                                                             relationship, db):
    from ..querycount import statements_of_request
    auth.login("q_d")
    call_url = f"/callbacks/tasks/{relationship['missed'].id}"
    urls = ("/callbacks/?all=1&state=all", "/callbacks/", call_url, "/")
    for url in urls:
        client.get(url)  # warm
    small = {url: len(statements_of_request(client, url)[1]) for url in urls}
    for i in range(5):
        _relationship_account(make, db, name=f"关键客户{i}")
    call = db.session.get(CallbackTask, relationship["missed"].id)
    client.post_form(f"{call_url}/attempt", {"outcome": "busy", "version": str(call.version)}, htmx=True,
                     token_from=call_url)
    call = db.session.get(CallbackTask, relationship["missed"].id)
    client.post_form(f"{call_url}/attempt", {"outcome": "no_answer", "version": str(call.version)}, htmx=True,
                     token_from=call_url)
    large = {url: len(statements_of_request(client, url)[1]) for url in urls}
    assert large == small, (small, large)
