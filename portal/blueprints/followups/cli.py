"""``flask notify-overdue``: the daily reminder of overdue follow-ups (cron, once a day, on one
machine). Safe to run again the same day: a follow-up is reminded at most once a day."""
import click

from ...extensions import db
from ...services import followups as service
from ...services.audit import set_audit_context
from .views import bp


@bp.cli.command("notify-overdue")
def notify_overdue_command():
    """Notify each PM of their overdue follow-ups and PMO of all of them; print the counts."""
    set_audit_context(actor=None)
    counts = service.notify_overdue()
    db.session.commit()
    click.echo(f"overdue follow-ups notified: {counts['overdue']} (owners: {counts['owners']}); "
               f"due dates filled in: {counts['due_dates_filled']}")
