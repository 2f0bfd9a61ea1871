"""The PDF report on the job worker (run in-process at commit, as everywhere in the tests): it
reports its stages, stores the file under a random name in the instance folder, and the job's
page offers it to its starter alone (404 for anyone else, as if the job did not exist)."""
from datetime import datetime
from pathlib import Path

import pytest

from portal.extensions import db
from portal.models import Job, RollupRevision
from portal.services.rollup import freeze, rollup
from portal.services.rollup import jobs as report_jobs
from portal.services.rollup.jobs import report_file_path, start_report_job

from .. import factories
from ..pdftools import page_count
from .test_rollup_outputs import QUARTER, World


@pytest.fixture
def world(db, app):
    with app.test_request_context():
        yield World()


@pytest.fixture
def stages(monkeypatch):
    """The stages the job reports, in order (the real progress still records them)."""
    seen = []
    real = report_jobs.progress

    def spy(job, done, total=None, stage=None):
        seen.append((done, total, stage))
        return real(job, done, total, stage)
    monkeypatch.setattr(report_jobs, "progress", spy)
    return seen


def _finished(job_id):
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_the_report_job_reports_its_stages_and_stores_the_pdf(app, world, stages):
    starter = world.pms[0]
    job = start_report_job(starter, period="2026q4")
    assert job.params == {"period": QUARTER, "include_pending": False, "revision_id": None}
    db.session.commit()
    job = _finished(job.id)
    assert job.state == "done", job.error
    assert [s for _d, _t, s in stages] == ["computing", "rendering", "storing", "storing"]
    assert [d for d, _t, _s in stages] == [0, 1, 2, 3] and job.total == 3 and job.done == 3
    result = job.result
    assert result["filename"] == "satisfaction-report-2026Q4-preview.pdf"
    path = report_file_path(result["file"])
    assert path is not None and path.parent == Path(app.instance_path) / "reports"
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and page_count(data) == result["pages"] >= 7


def test_a_revision_job_renders_the_stored_figures(world):
    report = rollup(QUARTER, now=datetime(2026, 12, 20))
    revision = RollupRevision(quarter=QUARTER, number=2, reason="补录", figures=freeze(report),
                              published_by_id=world.pms[0].id)
    db.session.add(revision)
    db.session.commit()
    job = start_report_job(world.pms[0], revision_id=revision.id)
    db.session.commit()
    job = _finished(job.id)
    assert job.state == "done", job.error
    assert job.result["filename"] == "satisfaction-report-2026Q4-r2.pdf"


def test_a_missing_revision_fails_the_job_with_a_reason(world):
    job = start_report_job(world.pms[0], revision_id=999)
    db.session.commit()
    job = _finished(job.id)
    assert job.state == "failed" and job.error and "file" not in (job.result or {})


def test_a_job_takes_a_period_or_a_revision(world):
    with pytest.raises(ValueError):
        start_report_job(world.pms[0])
    with pytest.raises(ValueError):
        start_report_job(world.pms[0], period=QUARTER, revision_id=1)


def test_only_well_formed_stored_names_are_looked_up(app):
    for name in ("../secret_key", "x.pdf", "", None, "0" * 32 + ".pdf/..", "/etc/passwd"):
        assert report_file_path(name) is None


def test_the_download_goes_to_its_starter_and_nobody_else(app, world, client, auth):
    starter = world.pms[0]
    job = start_report_job(starter, period=QUARTER)
    db.session.commit()
    job_id = job.id
    factories.user("other_pm", roles=("pm",))
    factories.user("other_quality", roles=("quality",))

    auth.login(starter.username)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'download href="/jobs/{job_id}/file"' in page and "Download the PDF" in page
    with client.get(f"/jobs/{job_id}/file") as response:
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "satisfaction-report-2026Q4-preview.pdf" in response.headers["Content-Disposition"]
        assert response.data.startswith(b"%PDF")
    auth.logout()

    for other in ("other_pm", "other_quality"):
        auth.login(other)
        assert client.get(f"/jobs/{job_id}/file").status_code == 404
        assert client.get(f"/jobs/{job_id}").status_code == 404
        auth.logout()


def test_no_file_no_download(app, world, client, auth):
    job = Job(kind="rollup_report", state="running", started_by_id=world.pms[0].id, params={})
    db.session.add(job)
    db.session.commit()
    auth.login(world.pms[0].username)
    assert client.get(f"/jobs/{job.id}/file").status_code == 404
    done = Job(kind="rollup_report", state="done", started_by_id=world.pms[0].id, params={},
               result={"file": "../../secret_key", "filename": "x.pdf"})
    db.session.add(done)
    db.session.commit()
    assert client.get(f"/jobs/{done.id}/file").status_code == 404
