"""The due-check reminder (``flask improvement-checks``): once a check falls due, its plan's
responsible person and the quality department are told, once per check. The audit event
``improvement_check_due`` on the check is the mark that it was sent, so running again is safe."""
from flask_babel import gettext as _
from sqlalchemy import String, cast, exists

from ...extensions import db
from ...models import AuditEvent, ImprovementCheck
from ..audit import record_event
from ..notifications import users_with_role
from ..quarters import local_today
from .effect import due_checks
from .steps import tell

DUE_EVENT = "improvement_check_due"


def _reminded():
    return exists().where(AuditEvent.action == DUE_EVENT, AuditEvent.object_type == "ImprovementCheck",
                          AuditEvent.object_id == cast(ImprovementCheck.id, String))


def remind_due_checks(today=None) -> dict:
    """Tell the responsible person and every quality user of each check that fell due and was not
    announced yet; returns {"checks": how many checks, "notifications": how many sent}."""
    today = today or local_today()
    checks = due_checks(today=today, where=~_reminded())
    quality = users_with_role("quality")
    sent = 0
    for check in checks:
        plan = check.plan
        recipients = {u.id: u for u in [plan.responsible, *quality] if u is not None and u.active}
        for user in recipients.values():
            if tell(user, "improvement_check_due", plan,
                    lambda: _("Effect check due: %(title)s", title=plan.title),
                    lambda: _("The %(days)d-day check of the improvement plan “%(title)s” fell due on %(day)s: "
                              "compare the figures before and after its measures and record whether they "
                              "were effective.", days=check.day_offset, title=plan.title,
                              day=check.due_on.isoformat())) is not None:
                sent += 1
        record_event(DUE_EVENT, check, actor=None,
                     detail={"plan": plan.id, "revision": check.revision, "due_on": check.due_on,
                             "notified": sorted(recipients)})
    db.session.flush()
    return {"checks": len(checks), "notifications": sent}

