"""Sales inquiries on the home pages (sales: what is due; executives: major problems awaiting
them) and the inquiries panel on the project page."""
from ...navigation import home_section, project_panel
from ...services import major_problems
from ...services import sales_inquiries as service
from ...services.scope import records_inquiries


@home_section(20, "inquiries/_home_sales.html", roles=("sales",))
def sales_due(user):
    """The sales owner's projects due an inquiry, never inquired, and their latest inquiries."""
    return {"overview": service.sales_overview(user)}


@home_section(16, "inquiries/_home_exec.html", roles=("exec",))
def major_problems_waiting(user):
    """Major problems no executive has acknowledged yet (shown until one of them does)."""
    return {"awaiting": major_problems.awaiting_acknowledgement()}


@project_panel(40, "inquiries/_project_panel.html")
def project_inquiries(user, project):
    """The project's inquiries; its sales owner may record one once it is due."""
    return {"project": project, "inquiries": service.inquiries_of_project(project),
            "due": service.due_trigger(project), "can_record": records_inquiries(user, project),
            "has_trigger": bool(service.triggers_of(project))}
