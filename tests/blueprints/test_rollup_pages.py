"""The quarter close pages: the dashboard with its countdown and missing items as links, the
preview beside the pending forms, publishing (a reason the second time, 422 without), the
revision page rendered from the stored figures with its recipients, acknowledging, comparing
revisions, the report of any period, and `flask rollup --json` /
`flask monthly-report`."""
import json
from datetime import datetime

import pytest
from flask_babel import force_locale

from portal.extensions import db
from portal.models import Department, Notification, RollupRevision
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.services.rollup import publication as pub
from portal.services.verification import judge

from .. import factories

QUARTER = "2026Q4"


def build_world():
    """Quality, PMO, a VP, a sales user; a department whose head is the PM of project P-100 with
    two paper forms (pending) of 2026Q4."""
    quality = factories.user("quality1", roles=("quality",))
    factories.user("pmo1", roles=("pmo",))
    factories.user("vp1", roles=("exec",))
    factories.user("sales1", roles=("sales",))
    head = factories.user("head1", roles=("pm",))
    db.session.add(Department(name="运维服务部", head_id=head.id))
    project = factories.project(pm=head, code="P-100", name="数据中心运维")
    version = factories.template_version()
    forms = [submit_response(version, parse_answers(version, answers, complete=True), channel="paper",
                             project=project, quarter=QUARTER, entered_by=quality, submitted_at=datetime(2026, 11, 5))
             for answers in ({"q_attitude": "5", "q_timeliness": "4", "q_technical": "9"},
                             {"q_attitude": "2", "q_timeliness": "3", "q_technical": "3"})]
    db.session.commit()
    return dict(quality=quality, forms=forms, project=project)


@pytest.fixture
def world(db):
    return build_world()


def _verify(world, forms=None):
    judge(forms or world["forms"], "authentic", actor=world["quality"])
    db.session.commit()


def test_the_dashboard_lists_what_is_missing_as_links(client, auth, world):
    auth.login("quality1")
    page = client.get(f"/rollup/{QUARTER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-missing="unverified"' in html
    assert f"/verification/?quarter={QUARTER}&amp;state=pending" in html
    assert 'id="countdown"' in html and 'id="publish-button"' in html
    assert 'id="preview-n">0<' in html and 'id="preview-n-pending">2<' in html


def test_readers_see_the_dashboard_but_only_quality_publishes(client, auth, world):
    _verify(world)
    auth.login("pmo1")
    html = client.get(f"/rollup/{QUARTER}").get_data(as_text=True)
    assert 'id="publish-button"' not in html
    assert client.post_form(f"/rollup/{QUARTER}/publish", {}, token_from=f"/rollup/{QUARTER}").status_code == 403
    auth.logout()
    auth.login("sales1")
    assert client.get(f"/rollup/{QUARTER}").status_code == 403
    assert db.session.scalar(db.select(db.func.count(RollupRevision.id))) == 0


def test_publish_then_republish_with_a_reason_and_compare(client, auth, world):
    _verify(world, world["forms"][:1])
    auth.login("quality1")
    done = client.post_form(f"/rollup/{QUARTER}/publish", {}, token_from=f"/rollup/{QUARTER}")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/rollup/{QUARTER}/revisions/1")
    _verify(world, world["forms"][1:])
    refused = client.post_form(f"/rollup/{QUARTER}/publish", {"reason": ""}, token_from=f"/rollup/{QUARTER}")
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    again = client.post_form(f"/rollup/{QUARTER}/publish", {"reason": "补录两份纸质问卷"},
                             token_from=f"/rollup/{QUARTER}", htmx=True)
    assert again.status_code == 204 and again.headers["HX-Redirect"].endswith("/revisions/2")
    compare = client.get(f"/rollup/{QUARTER}/revisions/2/compare")
    html = compare.get_data(as_text=True)
    assert compare.status_code == 200 and "补录两份纸质问卷" in html
    assert 'data-section="overall"' in html and 'data-section="by_project"' in html
    assert "1 → 2" in html


def test_the_revision_page_shows_the_stored_figures_and_recipients_acknowledge(client, auth, world):
    _verify(world)
    rev = pub.publish(QUARTER, actor=world["quality"])
    db.session.commit()
    judge(world["forms"][:1], "rejected", actor=world["quality"], reason="同一设备")
    db.session.commit()
    auth.login("vp1")
    html = client.get(f"/rollup/{QUARTER}/revisions/{rev.number}").get_data(as_text=True)
    assert 'data-recipient="vp1" data-acknowledged="no"' in html and 'id="acknowledge"' in html
    assert "数据中心运维" in html
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-rollup-acknowledge"' in home
    done = client.post_form(f"/rollup/{QUARTER}/revisions/1/acknowledge", {"note": "已阅"},
                            token_from=f"/rollup/{QUARTER}/revisions/1")
    assert done.status_code == 303
    html = client.get(f"/rollup/{QUARTER}/revisions/1").get_data(as_text=True)
    assert 'data-recipient="vp1" data-acknowledged="yes"' in html and "已阅" in html
    assert 'id="acknowledge"' not in html
    assert 'id="home-rollup-acknowledge"' not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("quality1")  # not a recipient
    refused = client.post_form(f"/rollup/{QUARTER}/revisions/1/acknowledge", {"note": "x"},
                               token_from=f"/rollup/{QUARTER}/revisions/1")
    assert refused.status_code == 403
    changed = client.get(f"/rollup/{QUARTER}").get_data(as_text=True)
    assert 'data-missing="changed"' in changed


def test_the_period_report_and_bad_periods(client, auth, world):
    _verify(world)
    auth.login("pmo1")
    assert client.get("/rollup/period?period=2026-11").status_code == 200
    bad = client.get("/rollup/period?period=2026-13")
    assert bad.status_code == 422 and 'role="alert"' in bad.get_data(as_text=True)
    assert client.get("/rollup/2026Q9").status_code == 404


def test_flask_rollup_prints_the_json(runner, world):
    _verify(world)
    result = runner.invoke(args=["rollup", "--quarter", QUARTER, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overall"]["responses"] == 2
    for name in ("by_project", "by_pm", "by_sales", "by_dimension"):
        for entry in data[name]:
            assert {"responses", "score", "satisfaction_rate", "ci_low", "ci_high"} <= set(entry)
    assert data["by_project"][0]["detail"] == "P-100"
    assert [c["priority"] for c in data["callbacks"]] == ["P1", "P2", "P3", "P4"]
    assert {"priority", "closed", "required", "reached", "rate", "target"} <= set(data["callbacks"][0])
    bad = runner.invoke(args=["rollup", "--quarter", "2026Q7", "--json"])
    assert bad.exit_code != 0


def test_flask_monthly_report_tells_management_once(runner, world):
    _verify(world)
    first = runner.invoke(args=["monthly-report", "--month", "2026-11"])
    assert first.exit_code == 0, first.output
    assert "2026-11: 2 responses; 2 people told" in first.output
    again = runner.invoke(args=["monthly-report", "--month", "2026-11"])
    assert "0 people told" in again.output
    told = db.session.scalars(db.select(Notification).where(Notification.kind == "monthly_report")).all()
    assert sorted(n.user.username for n in told) == ["pmo1", "vp1"]
    assert told[0].link == "/rollup/period?period=2026-11"
    with force_locale("zh"):
        assert "2026-11" in told[0].subject
