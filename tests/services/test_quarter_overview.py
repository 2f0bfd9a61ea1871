"""The quarter overview counts what is returned and lists what is still missing."""
from datetime import datetime

from portal.services.answers import parse_answers
from portal.services.quarter_overview import quarter_overview
from portal.services.responses import submit_response

NOW = datetime(2026, 11, 23, 4, 0)  # 2026Q4, 37 days before 30 December


def test_overview_counts_rate_missing_projects_and_low_scores(make, db):
    quality = make.user("q", roles=("quality",))
    answered, _ = make.invitation(due=datetime(2026, 12, 31).date())
    make.invitation(project_=answered.round.project, due=datetime(2026, 12, 31).date())
    lacking = make.project(code="NO-ROUND")
    make.project(code="DONE", status="completed")
    version = answered.round.template_version
    parsed = parse_answers(version, {"q_attitude": "2", "q_timeliness": "3", "q_technical": "3"}, complete=True)
    submit_response(version, parsed, channel="online", project=answered.round.project, origin=answered)
    db.session.commit()

    overview = quarter_overview(quality, now=NOW)
    assert overview.quarter == "2026Q4" and overview.days_left == 37
    assert (overview.invited, overview.submitted) == (2, 1) and overview.response_rate == 0.5
    assert overview.pending_verification == 1
    assert [p.code for p in overview.projects_without_round] == ["NO-ROUND"]
    assert [r.invitation_id for r in overview.low_scores] == [answered.id]


def test_a_pm_sees_only_their_projects(make, db):
    inv, _ = make.invitation(due=datetime(2026, 12, 31).date())
    other_pm = make.user("other", roles=("pm",))
    overview = quarter_overview(other_pm, now=NOW)
    assert overview.invited == 0 and overview.projects_without_round == []
    assert quarter_overview(inv.round.project.pm, now=NOW).invited == 1


def test_home_shows_the_countdown_to_quality(client, auth, make):
    make.user("q", roles=("quality",))
    auth.login("q")
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-quarter"' in html and "days left" in html
