"""``flask backup PATH`` and ``flask restore PATH``: the operator's side of services/backup.py.

Run from cron (see README, Backups); the rules, the format and why it is safe while the portal
writes are in the service. Both exit 1 with the reason when they refuse or fail.
"""
import click
from flask import current_app


def register_backup_commands(app):
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("backup")
@click.argument("path", type=click.Path(file_okay=False, path_type=str))
def backup_command(path):
    """Back up the database and stored files into the new directory PATH (safe while the portal runs)."""
    from .services.backup import BackupError, make_backup
    try:
        result = make_backup(path, app=current_app._get_current_object())
    except BackupError as exc:
        raise click.ClickException(str(exc.message))
    rows = sum(result.tables.values())
    click.echo(f"Backed up the {result.engine} database ({len(result.tables)} tables, {rows} rows) and "
               f"{result.files} files, {_size(result.bytes)}, to {result.path} in {result.seconds:.1f} s.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_command(path, force):
    """Restore the backup directory PATH into this portal's database and instance folder.

    Stop the portal and its job worker first. Every file is checked against the manifest
    before anything is written."""
    from .services.backup import BackupError, restore_backup
    try:
        result = restore_backup(path, app=current_app._get_current_object(), force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc.message))
    rows = sum(result.tables.values())
    click.echo(f"Restored the {result.database} database ({len(result.tables)} tables, {rows} rows, "
               f"row counts as in the manifest) and {result.files} files into "
               f"{', '.join(result.folders) or 'no folder'} from {result.source} in {result.seconds:.1f} s.")
    for name, count in sorted(result.tables.items()):
        if count:
            click.echo(f"  {name}: {count}")


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
