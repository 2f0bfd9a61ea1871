"""``flask send-reminders``: the scheduled reminder job (cron)."""
import click

from ...extensions import db
from ...services import DomainError


def register_round_commands(app):
    app.cli.add_command(send_reminders_command)


@click.command("send-reminders")
@click.option("--days-before", type=click.IntRange(min=0), default=None,
              help="Only rounds due within this many days.")
def send_reminders_command(days_before):
    """Remind every contact of an open round (due date not passed) who has not answered."""
    from datetime import timedelta

    from flask import current_app

    from ...models import SurveyRound
    from ...services import mailer, rounds

    if mailer.smtp_enabled() and not (current_app.config.get("PUBLIC_BASE_URL")
                                      or current_app.config.get("SERVER_NAME")):
        raise click.ClickException("Set PUBLIC_BASE_URL: e-mailed reminders need the site's public address.")
    today = rounds.local_today()
    stmt = rounds.open_rounds_stmt(today).order_by(SurveyRound.due_date, SurveyRound.id)
    if days_before is not None:
        stmt = stmt.where(SurveyRound.due_date <= today + timedelta(days=days_before))
    total = mailer.SendResult()
    round_ids = db.session.scalars(stmt.with_only_columns(SurveyRound.id)).all()
    for round_id in round_ids:
        rnd = db.session.get(SurveyRound, round_id)
        try:
            result = mailer.send_reminders(rnd)
        except DomainError as error:
            db.session.rollback()
            with current_app.test_request_context():  # lazy translations need a request to pick a locale
                raise click.ClickException(str(error.message)) from None
        db.session.commit()  # per round: messages already e-mailed stay recorded if a later round fails
        total.add(result)
        click.echo(f"round {rnd.id} {rnd.project.code} {rnd.quarter} due {rnd.due_date}: "
                   f"{result.sent} e-mailed, {result.queued} to outbox, {result.failed} failed, "
                   f"{result.skipped} skipped")
    click.echo(f"{len(round_ids)} open rounds: {total.sent} e-mailed, {total.queued} to outbox, "
               f"{total.failed} failed, {total.skipped} skipped")
