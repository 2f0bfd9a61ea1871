"""``flask send-reminders`` (the scheduled reminder job, cron) and ``flask deliver-outbox``."""
import click

from ...extensions import db
from ...services import DomainError


def register_round_commands(app):
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(deliver_outbox_command)


@click.command("deliver-outbox")
def deliver_outbox_command():
    """E-mail every message still queued (e.g. left by a process that died before delivering)."""
    from ...services.outbound import deliver_queued, smtp_enabled
    if not smtp_enabled():
        raise click.ClickException("SMTP_HOST is not set: queued messages cannot be e-mailed.")
    result = deliver_queued()
    click.echo(f"{result.sent} sent, {result.failed} failed")


@click.command("send-reminders")
@click.option("--days-before", type=click.IntRange(min=0), default=None,
              help="Only rounds due within this many days.")
def send_reminders_command(days_before):
    """Remind every contact of an open round (due date not passed) who has not answered."""
    from datetime import timedelta

    from flask import current_app

    from ...models import SurveyRound
    from ...services import invitation_messages as messages
    from ...services.outbound import smtp_enabled
    from ...services.quarters import local_today
    from ...services.round_status import open_rounds_stmt

    if smtp_enabled() and not (current_app.config.get("PUBLIC_BASE_URL")
                                      or current_app.config.get("SERVER_NAME")):
        raise click.ClickException("Set PUBLIC_BASE_URL: e-mailed reminders need the site's public address.")
    today = local_today()
    stmt = open_rounds_stmt(today).order_by(SurveyRound.due_date, SurveyRound.id)
    if days_before is not None:
        stmt = stmt.where(SurveyRound.due_date <= today + timedelta(days=days_before))
    total = messages.SendResult()
    round_ids = db.session.scalars(stmt.with_only_columns(SurveyRound.id)).all()
    for round_id in round_ids:
        rnd = db.session.get(SurveyRound, round_id)
        try:
            result = messages.send_reminders(rnd)
        except DomainError as error:
            db.session.rollback()
            with current_app.test_request_context():  # lazy translations need a request to pick a locale
                raise click.ClickException(str(error.message)) from None
        db.session.commit()  # per round; its e-mails go out once it has committed
        total.add(result)
        sent, failed, _queued = result.delivered()
        click.echo(f"round {rnd.id} {rnd.project.code} {rnd.quarter} due {rnd.due_date}: "
                   f"{sent} e-mailed, {result.to_outbox} to outbox, {failed} failed, "
                   f"{result.skipped} skipped")
    sent, failed, queued = total.delivered()
    click.echo(f"{len(round_ids)} open rounds: {sent} e-mailed, {total.to_outbox} to outbox, "
               f"{failed} failed, {total.skipped} skipped" + (f", {queued} still queued" if queued else ""))
