"""``flask rollup --quarter 2026Q4 --json`` (or ``--period``): the rollup's figures for scripts and
checks; ``flask monthly-report``: the monthly feedback report of the month just ended, for
management (cron on the 1st; the job worker's schedule runs the same)."""
import json

import click

from ...extensions import db
from ...services import DomainError
from .views import bp

BREAKDOWNS = ("by_project", "by_pm", "by_sales", "by_dimension")


def _entry(group):
    f = group.figures
    return {"key": group.key, "label": group.label, "detail": group.detail, "responses": f.responses,
            "score": f.score, "satisfaction_rate": f.satisfaction_rate, "ci_low": f.score_low,
            "ci_high": f.score_high, "rate_ci_low": f.rate_low, "rate_ci_high": f.rate_high,
            "confidence": f.confidence}


def as_json(report) -> dict:
    """The figures scripts read: overall, the four breakdowns, and callbacks per priority."""
    o = report.overall
    return {
        "period": report.period.key, "method": report.method,
        "overall": {"responses": o.responses, "score": o.score, "satisfaction_rate": o.satisfaction_rate,
                    "ci_low": o.score_low, "ci_high": o.score_high, "rate_ci_low": o.rate_low,
                    "rate_ci_high": o.rate_high, "total": o.total},
        "excluded": {"rejected": report.excluded.rejected, "pending": report.excluded.pending,
                     "not_applicable": report.excluded.not_applicable},
        **{name: [_entry(g) for g in getattr(report, name)] for name in BREAKDOWNS},
        "callbacks": [{"priority": c.priority, "closed": c.closed, "required": c.required, "reached": c.reached,
                       "rate": c.rate, "target": c.target} for c in report.callbacks],
    }


@bp.cli.command("rollup")
@click.option("--quarter", default=None, help="A quarter, e.g. 2026Q4.")
@click.option("--period", default=None, help="Any period: 2026-11, 2026H2, 2026, 2026-10-01..2026-10-31.")
@click.option("--with-pending", is_flag=True, help="Count the forms not verified yet too (a preview).")
@click.option("--json", "as_json_flag", is_flag=True, help="Print the figures as JSON.")
def rollup_command(quarter, period, with_pending, as_json_flag):
    """Print the rollup of a quarter or any period (verified forms only unless --with-pending)."""
    from ...services.rollup import rollup
    if bool(quarter) == bool(period):
        raise click.UsageError("give --quarter or --period")
    try:
        report = rollup((quarter or period).upper() if quarter else period, include_pending=with_pending)
    except DomainError as error:
        raise click.ClickException(str(error.message))
    data = as_json(report)
    if as_json_flag:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    o = report.overall
    click.echo(f"{report.period.key}: {o.responses} responses, score "
               f"{'-' if o.score is None else f'{o.score:.2f}'}, satisfaction rate "
               f"{'-' if o.satisfaction_rate is None else f'{o.satisfaction_rate * 100:.1f}%'}; "
               f"{report.excluded.rejected} rejected and {report.excluded.pending} pending left out")


@bp.cli.command("monthly-report")
@click.option("--month", default=None, help="YYYY-MM (default: the month just ended).")
def monthly_report_command(month):
    """Make the monthly feedback report (PDF on the job worker) and tell management where it is."""
    from ...services.audit import set_audit_context
    from ...services.rollup.monthly import send_monthly_report
    set_audit_context(actor=None)
    try:
        result = send_monthly_report(month)
    except DomainError as error:
        raise click.ClickException(str(error.message))
    db.session.commit()
    click.echo(f"{result.period}: {result.responses} responses; {result.told} people told")
