"""The rounds panel on the project page and the PM's home section."""
from ...authz import can_run_rounds
from ...navigation import home_section, project_panel
from ...services import round_status
from ...services.quarters import current_quarter


@project_panel(30, "rounds/_project_panel.html")
def project_rounds(user, project):
    """The project's rounds with their response rates; its PM may open a new one. Everyone who
    sees the project sees its rounds; only round viewers (not sales) get links to them."""
    from .views import ROUND_VIEWERS
    quarter = current_quarter()
    summaries = round_status.round_summaries(round_status.rounds_of_project(project))
    return {"project": project, "rounds": summaries, "quarter": quarter,
            "has_current": any(s.quarter == quarter for s in summaries),
            "can_run": can_run_rounds(user, project), "can_open": user.has_role(*ROUND_VIEWERS)}


@home_section(15, "rounds/_home_pm.html", roles=("pm",))
def pm_rounds(user):
    """Projects still lacking this quarter's round; open rounds with response rate and overdue."""
    return round_status.pm_overview(user)
