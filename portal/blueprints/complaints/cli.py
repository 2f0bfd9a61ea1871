"""``flask complaint-timers``: the 50 % / 75 % warnings and the breach alerts of the complaints'
time limits (cron, e.g. every 15 minutes on one machine). Safe to run again: each alert is sent
once per clock, threshold and limit."""
import click

from ...extensions import db
from ...services import complaints as service
from ...services.audit import set_audit_context
from .views import bp


@bp.cli.command("complaint-timers")
def complaint_timers_command():
    """Check every open complaint's clocks, send the alerts due; print the counts."""
    set_audit_context(actor=None)
    counts = service.check_timers()
    db.session.commit()
    click.echo(f"open complaints checked: {counts['complaints']}; warnings sent: {counts['warnings']}; "
               f"breaches sent: {counts['breaches']}; calendar unknown: {counts['calendar_unknown']}")
