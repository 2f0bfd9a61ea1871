"""``flask sample-callbacks --quarter 2026Q4``: draw the quarter's callback sample, or top it up
and replace failed calls when run again (cron-safe: a quarter that meets every rate gets
nothing new). Prints the sample per priority, or JSON with ``--json``.

``flask relationship-callbacks``: the daily job creating the key accounts' relationship calls
falling due (and any missed while it did not run); safe to run again."""
import json
from datetime import timedelta

import click
from flask import current_app

from ...extensions import db
from ...services import DomainError
from ...services.accounts import find_user
from ...services.audit import set_audit_context
from ...services.callbacks.sampling import SEED_MAX, draw, may_draw
from ...services.key_accounts.schedule import HORIZON_DAYS, count_overdue, create_due_tasks
from ...services.quarters import local_today, parse_quarter
from .views import bp

COLUMNS = ("priority", "rate", "closed", "required", "drawn", "active", "reached", "failed", "added")


@bp.cli.command("sample-callbacks")
@click.option("--quarter", required=True, help="The quarter whose closed cases are sampled, e.g. 2026Q4.")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=None,
              help="Seed of the quarter's first draw (to reproduce one); later draws reuse the recorded seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per priority.")
@click.option("--user", "username", default=None,
              help="Record the draw as this quality-desk user (default: the system).")
def sample_callbacks_command(quarter, seed, as_json, username):
    """Draw, top up or replace the quarter's callback sample per priority; print the figures."""
    quarter = quarter.strip().upper()
    try:
        parse_quarter(quarter)
    except ValueError:
        raise click.BadParameter(f"{quarter!r} is not a quarter; write it as 2026Q4.",
                                 param_hint="--quarter") from None
    user = None
    if username:
        user = find_user(username)
        if user is None:
            raise click.BadParameter(f"no user {username!r}.", param_hint="--user")
        if not may_draw(user):
            raise click.BadParameter(f"{user.username} is not an active member of the quality desk.",
                                     param_hint="--user")
    set_audit_context(actor=user)
    try:
        result = draw(quarter, user, seed=seed)
    except DomainError as error:
        db.session.rollback()
        with current_app.test_request_context():  # lazy translations need a request to pick a locale
            raise click.UsageError(str(error.message)) from None
    db.session.commit()
    if as_json:
        click.echo(json.dumps([{"quarter": result.quarter, "seed": result.seed, **row.as_dict()}
                               for row in result.priorities], indent=2))
        return
    click.echo(_table(result))


def _table(result) -> str:
    seed = "no seed yet: no case to draw" if result.seed is None else f"seed {result.seed}"
    lines = [f"Callback sample {result.quarter} ({seed}): {result.added} calls added by this draw", ""]
    widths = [max(len(c), 8) for c in COLUMNS]
    lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(COLUMNS, widths))))
    for row in result.priorities:
        cells = [row.priority, f"{row.rate * 100:.1f}%", *(str(getattr(row, c)) for c in COLUMNS[2:])]
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(cells, widths))))
    for row in result.priorities:
        if row.missing:
            lines.append(f"{row.priority}: {row.missing} short of the {row.required} required "
                         "(every case of the priority has been drawn)")
    return "\n".join(lines)


@bp.cli.command("relationship-callbacks")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to run for, YYYY-MM-DD (default: today where the company works).")
def relationship_callbacks_command(today):
    """Create the key accounts' relationship calls due up to a week ahead (daily; idempotent)."""
    today = today.date() if today is not None else local_today()
    set_audit_context(actor=None)
    created = create_due_tasks(today)
    db.session.commit()
    until = today + timedelta(days=HORIZON_DAYS)
    click.echo(f"relationship callbacks: {created} created (due up to {until.isoformat()}); "
               f"{count_overdue(today)} open and overdue")
