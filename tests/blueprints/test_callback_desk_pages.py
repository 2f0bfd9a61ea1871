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

from portal.models import CallbackTask, CaseImport, Job, Response, ServiceCase

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
