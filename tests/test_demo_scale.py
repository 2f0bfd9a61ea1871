"""flask demo --scale: the data set at scale is large, coherent with the services' rules, and loaded once.

The small set is loaded once for the module (the demo data first, as the command does), every check
gathers its figures from it, and the tables are wiped again for the next module."""
import os

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (Answer, CallbackDraw, CallbackTask, Complaint, ComplaintEvent, FollowUp, Invitation,
                           Project, Response, ServiceCase, SurveyRound)
from portal.services.quarters import current_quarter, quarter_of, shift_quarter

from . import factories
from .conftest import Auth, _wipe

pytestmark = pytest.mark.xdist_group("demo_scale")

SCALE_PROJECTS = Project.code.like("SC-%")
COUNTED = (Project, SurveyRound, Invitation, Response, Answer, ServiceCase, CallbackTask, Complaint, FollowUp)


def _count(model, *where):
    return db.session.scalar(select(func.count(model.id)).where(*where))


def _pages():
    quarter = current_quarter()
    return ("/", "/complaints/", f"/callbacks/?quarter={quarter}&all=1&state=all", "/projects/?q=SC-",
            f"/rollup/{shift_quarter(quarter, -1)}", "/followups")


@pytest.fixture(scope="module")
def facts(app):
    """Everything the tests check, gathered from one load of the small set (and a second run)."""
    os.environ["DEMO_PASSWORD"] = factories.PASSWORD
    try:
        with app.app_context():
            _wipe()
            runner = app.test_cli_runner()
            result = runner.invoke(args=["demo", "--scale", "small"])
            assert result.exit_code == 0, result.output
            found = {"output": result.output, "counts": {m.__name__: _count(m) for m in COUNTED},
                     "scale projects": _count(Project, SCALE_PROJECTS), **_coherence(), **_rollup()}
            client = app.test_client()
            Auth(client).login("quality1")
            found["pages"] = {url: client.get(url).status_code for url in _pages()}
            again = runner.invoke(args=["demo", "--scale", "small"])
            found["again"] = (again.exit_code, again.output, {m.__name__: _count(m) for m in COUNTED})
            db.session.remove()
            _wipe()
    finally:
        os.environ.pop("DEMO_PASSWORD", None)
    return found


def _coherence():
    means = (select(Answer.response_id, func.avg(Answer.normalized).label("mean"))
             .group_by(Answer.response_id).subquery())
    scored = db.session.execute(select(Response.score, means.c.mean)
                                .join(means, means.c.response_id == Response.id)).all()
    commented = select(Response.id).where(Response.comment.is_not(None))
    draws = [(d.required, _count(CallbackTask, CallbackTask.quarter == d.quarter, CallbackTask.priority == d.priority,
                                 CallbackTask.state.in_(("open", "reached"))))
             for d in db.session.scalars(select(CallbackDraw).where(CallbackDraw.quarter != current_quarter()))]
    first_clocks = set(db.session.scalars(
        select(ComplaintEvent.clock).where(ComplaintEvent.id.in_(
            select(func.min(ComplaintEvent.id)).group_by(ComplaintEvent.complaint_id)))))
    return {
        "scores": scored,
        "response quarters": db.session.execute(select(Response.quarter, Response.submitted_at)).all(),
        "case quarters": db.session.execute(select(ServiceCase.quarter, ServiceCase.closed_at)).all(),
        "states": dict(db.session.execute(select(Response.verification_status, func.count(Response.id))
                                          .group_by(Response.verification_status)).all()),
        "archived scale forms": _count(Response, Response.project_id.in_(select(Project.id).where(SCALE_PROJECTS)),
                                       Response.archived_at.is_not(None)),
        "comments without follow-up": _count(Response, Response.id.in_(commented),
                                             ~Response.id.in_(select(FollowUp.response_id))),
        "draws": draws,
        "first clocks": first_clocks,
    }


def _rollup():
    from portal.services.rollup import rollup
    quarter = shift_quarter(current_quarter(), -1)  # 2026Q3 when this was written
    figures = rollup(quarter)
    in_quarter = Response.quarter == quarter
    return {"rollup": (figures.overall.responses, sum(g.figures.responses for g in figures.by_project),
                       figures.excluded.rejected),
            "sql": (_count(Response, in_quarter, Response.verification_status == "authentic",
                           Response.score.is_not(None)),
                    _count(Response, in_quarter, Response.verification_status == "rejected")),
            "close": {q: _close_against_rollup(q) for q in (quarter, current_quarter())},
            "uninquired": _uninquired_both_ways()}


def _uninquired_both_ways():
    """The projects the rollup lists as lacking a sales inquiry, and the same asked of every
    project one by one (sales_inquiries.due_trigger), as codes."""
    from portal.services.rollup.context import coverage
    from portal.services.sales_inquiries import due_trigger
    listed = [p.code for p in coverage((current_quarter(),)).without_inquiry]
    every = [p.code for p in db.session.scalars(select(Project).order_by(Project.code)) if due_trigger(p)]
    return listed, every


def _close_against_rollup(quarter):
    """The quarter close page's two summaries (two statements) beside the whole rollups they
    stand for: (summary, rollup) pairs of what the page shows, verified only and with pending."""
    from portal.services.rollup import rollup
    from portal.services.rollup.service import summaries

    import dataclasses

    def rounded(score):  # the sums are added in another order: the last bits of a float differ
        return tuple(round(v, 9) if isinstance(v, float) else v for v in dataclasses.astuple(score))

    def shown(figures):
        x = figures.excluded
        return (rounded(figures.overall), [(g.key, g.label, g.detail, rounded(g.figures)) for g in figures.by_project],
                (x.rejected, x.pending, x.unscored))
    verified, with_pending = summaries(quarter)
    return [(shown(verified), shown(rollup(quarter))),
            (shown(with_pending), shown(rollup(quarter, include_pending=True)))]


def test_small_scale_has_hundreds_of_each_kind(facts):
    assert "scale small:" in facts["output"] and " s (" in facts["output"]  # counts and seconds printed
    counts = facts["counts"]
    assert facts["scale projects"] == 12
    assert counts["SurveyRound"] >= 40 and counts["Invitation"] >= 250
    assert counts["Response"] >= 250 and counts["Answer"] >= 2000
    assert counts["ServiceCase"] >= 400 and counts["CallbackTask"] >= 100
    assert counts["Complaint"] >= 80 and counts["FollowUp"] >= 30


def test_scores_are_the_mean_of_the_normalised_answers(facts):
    assert len(facts["scores"]) >= 250
    assert all(score is not None and abs(score - mean) < 1e-9 for score, mean in facts["scores"])


def test_quarters_match_the_dates(facts):
    assert all(quarter == quarter_of(at) for quarter, at in facts["response quarters"])
    assert all(quarter == quarter_of(at) for quarter, at in facts["case quarters"])


def test_verification_states_are_mixed_and_nothing_new_is_archived(facts):
    assert set(facts["states"]) == {"authentic", "pending", "rejected"}
    assert facts["archived scale forms"] == 0


def test_every_comment_has_its_follow_up(facts):
    assert facts["comments without follow-up"] == 0


def test_every_past_draw_meets_its_rate(facts):
    assert facts["draws"] and all(required == active for required, active in facts["draws"])


def test_every_complaint_clock_starts_at_registration(facts):
    assert facts["first clocks"] == {"start"}


def test_rollup_totals_equal_a_plain_count_of_verified_forms(facts):
    (overall, by_projects, rejected), (verified, rejected_sql) = facts["rollup"], facts["sql"]
    assert verified >= 100
    assert overall == by_projects == verified
    assert rejected == rejected_sql


def test_the_close_page_summaries_equal_the_whole_rollups(facts):
    """Last quarter (verified and rejected forms) and this one (pending forms): the close page's
    figures are the rollup's, to the last group and interval."""
    for quarter, pairs in facts["close"].items():
        for summary, whole in pairs:
            assert whole[0][0] > 0, quarter  # responses
            assert summary == whole, quarter
    current = facts["close"][current_quarter()]
    assert current[1][0][0][0] > current[0][0][0][0]  # pending forms are there to add


def test_the_projects_lacking_an_inquiry_are_those_asked_one_by_one(facts):
    listed, every = facts["uninquired"]
    assert listed == every and len(every) > 10


def test_pages_render_on_the_scaled_data(facts):
    assert facts["pages"] == {url: 200 for url in facts["pages"]}


def test_running_it_twice_adds_nothing(facts):
    exit_code, output, counts = facts["again"]
    assert exit_code == 0, output
    assert "already loaded" in output
    assert counts == facts["counts"]
