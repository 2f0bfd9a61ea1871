"""``flask improvement-checks``: tell each plan's responsible person and the quality department
once a check of its effect falls due (cron, e.g. daily). Safe to run again: each check is
announced once."""
import click

from ...extensions import db
from ...services import improvement as service
from ...services.audit import set_audit_context
from .views import bp


@bp.cli.command("improvement-checks")
def improvement_checks_command():
    """Announce the checks that fell due; print the counts."""
    set_audit_context(actor=None)
    counts = service.remind_due_checks()
    db.session.commit()
    click.echo(f"checks due announced: {counts['checks']}; notifications sent: {counts['notifications']}")
