"""The rounds panel on the project page and the PM's home section."""
from ...authz import can_run_rounds
from ...navigation import home_section, project_panel
from ...services import rounds


@project_panel(30, "rounds/_project_panel.html")
def project_rounds(user, project):
    """The project's rounds with their response rates; its PM may open a new one."""
    quarter = rounds.current_quarter()
    summaries = rounds.round_summaries(rounds.rounds_of_project(project))
    return {"project": project, "rounds": summaries, "quarter": quarter,
            "has_current": any(s.quarter == quarter for s in summaries),
            "can_run": can_run_rounds(user, project)}


@home_section(15, "rounds/_home_pm.html", roles=("pm",))
def pm_rounds(user):
    """Projects still lacking this quarter's round; open rounds with response rate and overdue."""
    return rounds.pm_overview(user)
