"""``flask archive-report``: what becomes eligible for disposal in the coming days, by quarter,
and how much is on hold (for the admin department's planning, or a cron mail)."""
import click

from ...services.archive.disposal import sweep_orphan_copies
from ...services.archive.overview import archive_report
from .views import bp


@bp.cli.command("archive-report")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650),
              help="How far ahead to look.")
def archive_report_command(days):
    """List the archived forms that become eligible for disposal in the next DAYS, by quarter."""
    report = archive_report(days=days)
    swept = sweep_orphan_copies()
    click.echo(f"Archive on {report.now:%Y-%m-%d}: {report.archived} forms archived, {report.disposed} disposed of.")
    click.echo(f"Eligible for disposal now: {report.eligible_now}.")
    if report.upcoming:
        click.echo(f"Becoming eligible in the next {days} days:")
        for row in report.upcoming:
            click.echo(f"  {row.quarter}: {row.count} forms, from {row.first:%Y-%m-%d} to {row.last:%Y-%m-%d}")
    else:
        click.echo(f"None becomes eligible in the next {days} days.")
    click.echo(f"On legal hold: {report.on_hold} forms ({report.on_hold_past_date} of them past their date, "
               f"kept only by the hold).")
    if swept:
        click.echo(f"Removed {swept} archive copies no form points at (a disposal or a copies job stopped "
                   f"half way).")
