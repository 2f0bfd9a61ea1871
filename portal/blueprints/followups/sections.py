"""The follow-ups panel on the project page (for those who may see follow-ups)."""
from ...navigation import project_panel
from ...services import followups as service
from ...services.quarters import local_today

PANEL_SIZE = 10


@project_panel(35, "followups/_project_panel.html")
def project_followups(user, project):
    """The project's follow-ups still being worked on first, then the latest closed ones."""
    if not user.has_role("pm", "pmo", "quality", "exec"):
        return None
    page = service.followups_page(user, service.FollowUpFilters(project_id=project.id), per_page=PANEL_SIZE)
    today = local_today()
    return {"project": project, "results": page, "today": today, "is_overdue": service.is_overdue}
