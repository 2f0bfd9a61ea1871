"""What the job worker runs by the calendar (huey's periodic tasks, started by the consumer):
the monthly feedback report on the 1st of each month (announced once per month, so a second
worker or ``flask monthly-report`` run by cron as well does no harm)."""
from huey import crontab

from .queue import huey


@huey.periodic_task(crontab(day="1", hour="1", minute="30"))
def monthly_feedback_report():
    from ..extensions import db
    from ..services.audit import set_audit_context
    from ..services.rollup.monthly import send_monthly_report
    from .runner import _app
    with _app().app_context():
        try:
            set_audit_context(actor=None)
            send_monthly_report()
            db.session.commit()
        finally:
            db.session.remove()
