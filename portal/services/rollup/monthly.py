"""The monthly feedback report for management (DESIGN §4.5.6): on the 1st of each month the
rollup of the month just ended — satisfaction scores, common problems with counts and examples,
improvement suggestions and plans, complaint time-limit compliance — is announced to the PMO and
the executives, who open it (and its PDF and XLSX) on the period page. Each month is announced
once, however often the schedule or ``flask monthly-report`` runs."""
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import AuditEvent
from ...models.base import utcnow
from ..audit import record_event
from ..complaints.report import last_month, month_key, parse_month
from .service import rollup

ACTION = "monthly_report_sent"
ROLES = ("pmo", "exec")


@dataclass(frozen=True)
class MonthlySent:
    period: str
    responses: int
    told: int                        # 0 when the month had been announced already


def send_monthly_report(month=None, now=None) -> MonthlySent:
    """Announce the monthly report of ``month`` (YYYY-MM; default the month just ended), once."""
    from ..notifications import in_language_of, notify, users_with_role
    now = now or utcnow()
    year, number = parse_month(month) if month else last_month(now)
    key = month_key(year, number)
    report = rollup(key, now=now)
    if db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == ACTION,
                                                     AuditEvent.object_id == key).limit(1)):
        return MonthlySent(key, report.overall.responses, 0)
    told, seen = 0, set()
    for role in ROLES:
        for user in users_with_role(role):
            if user.id in seen:
                continue
            seen.add(user.id)
            with in_language_of(user):
                subject = _("Monthly feedback report %(month)s", month=key)
                body = _("%(n)d verified responses; satisfaction rate %(rate)s. Problems, suggestions, plans and "
                         "complaint time limits are in the report.", n=report.overall.responses,
                         rate="–" if report.overall.satisfaction_rate is None
                         else f"{report.overall.satisfaction_rate * 100:.1f}%")
            notify(user, "monthly_report", subject, body, link=f"/rollup/period?period={key}", now=now)
            told += 1
    record_event(ACTION, object_type="period", object_id=key,
                 detail={"responses": report.overall.responses, "told": told})
    db.session.flush()
    return MonthlySent(key, report.overall.responses, told)
