"""``flask import-cases FILE``: import a ticket export (CSV or XLSX) in this process, all or
nothing, with the same checks as the import page; exits 1 when the file is refused."""
from pathlib import Path

import click

from ...extensions import db
from ...services.accounts import find_user
from ...services.audit import set_audit_context
from ...services.cases.importer import import_cases
from ...services.cases.mapping import mapping_by_name
from .views import bp

ERRORS_SHOWN = 20


@bp.cli.command("import-cases")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_name", default=None,
              help="A saved column mapping (default: recognise the columns by their headers).")
@click.option("--sheet", default=None, help="XLSX: the sheet to read (default: the first).")
@click.option("--user", "username", default=None, help="Record the import as this user's.")
def import_cases_command(file, mapping_name, sheet, username):
    """Import closed service tickets from FILE; print what it did, or its errors by row."""
    user = None
    if username:
        user = find_user(username)
        if user is None:
            raise click.ClickException(f"no user {username!r}")
    mapping = None
    if mapping_name:
        saved = mapping_by_name(mapping_name)
        if saved is None:
            raise click.ClickException(f"no saved mapping {mapping_name!r}")
        mapping = dict(saved.columns)
    set_audit_context(actor=user)
    record = import_cases(file.read_bytes(), file.name, user, mapping, sheet=sheet)
    db.session.commit()
    read_as = f"sheet {record.sheet}" if record.sheet else f"encoding {record.encoding or '-'}"
    click.echo(f"{record.file_name} ({read_as}): {record.state}")
    click.echo(f"rows read {record.rows_read}, added {record.rows_added}, updated {record.rows_updated}, "
               f"unchanged {record.rows_unchanged}, rejected {record.rows_rejected}")
    if record.state == "imported":
        return
    errors = record.errors or []
    for error in errors[:ERRORS_SHOWN]:
        where = f"row {error['row']}" if error.get("row") is not None else "file"
        column = f", {error['column']}" if error.get("column") else ""
        value = f" = {error['value']!r}" if error.get("value") else ""
        click.echo(f"  {where}{column}{value}: {error['message']}", err=True)
    if len(errors) > ERRORS_SHOWN:
        click.echo(f"  … and {len(errors) - ERRORS_SHOWN} more on the import page", err=True)
    click.echo("nothing was imported", err=True)
    raise SystemExit(1)
