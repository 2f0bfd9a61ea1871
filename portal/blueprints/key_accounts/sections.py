"""Home-page sections: the account team's key accounts with what is due, and the executives'
proposals awaiting a decision."""
from ...navigation import home_section
from ...services import key_accounts as service
from ...services.key_accounts.home import team_home
from ...services.quarters import local_today


@home_section(14, "key_accounts/_home_team.html")
def home_team(user):
    """The key accounts ``user`` is on the team of (any role), with calls, complaints and low scores."""
    rows = team_home(user)
    return {"rows": rows, "today": local_today()} if rows else None


@home_section(13, "key_accounts/_home_proposals.html", roles=service.DECIDERS)
def home_proposals(user):
    pending = service.pending_proposals()
    return {"pending": pending} if pending else None
