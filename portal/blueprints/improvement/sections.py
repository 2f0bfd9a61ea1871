"""The home page of quality and PMO: the improvement plans' checks that are due."""
from flask import g

from ...navigation import home_section
from ...services import improvement as service


@home_section(24, "improvement/_home_checks.html", roles=service.rules.CHECKERS)
def improvement_checks_due(user):
    """Every check due (a short list: three per plan at most); the nav badge counts the same list."""
    checks = service.due_checks(user)
    g.improvement_checks_due = checks
    return {"checks": checks} if checks else None
