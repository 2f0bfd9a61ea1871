"""flask commands: create-user, demo."""
import os

import click
from flask import current_app

from .extensions import db
from .models import ROLES


def register(app):
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    from .blueprints.rounds.cli import register_round_commands
    register_round_commands(app)
    from .backup_cli import register_backup_commands
    register_backup_commands(app)


@click.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), required=True,
              help="Repeat for several roles.")
@click.option("--name", "display_name", default=None)
@click.option("--email", default=None)
@click.password_option()
def create_user_command(username, roles, display_name, email, password):
    """Create a user account."""
    from .services import DomainError
    from .services.accounts import create_user
    try:
        user = create_user(username, password, roles, display_name=display_name, email=email)
    except DomainError as exc:
        raise click.ClickException(str(exc.message))
    db.session.commit()
    click.echo(f"Created {user.username} with roles {', '.join(sorted(user.roles))}.")


@click.command("demo")
@click.option("--scale", "scale", type=click.Choice(["small", "mid"]), default=None,
              help="Then add a data set at scale (portal/demo/scale.py): small for tests, mid for benchmarks.")
def demo_command(scale):
    """Load demo data (idempotent): one user per role, clients, projects, rounds, responses."""
    import time

    from .demo import load_demo_data
    password = os.environ.get("DEMO_PASSWORD", "portal-demo")
    started = time.perf_counter()
    summary = load_demo_data(password)
    db.session.commit()
    for line in summary:
        click.echo(line)
    if scale:
        click.echo(f"demo data in {time.perf_counter() - started:.1f} s")
        from .demo.scale import seed_scale
        lines = seed_scale(scale, password)
        db.session.commit()
        if not lines[0].startswith("scale data already loaded"):
            # the planner's statistics: bulk loads leave them as they were before (on PostgreSQL
            # autovacuum gets there in its own time, and then the pages' plans change under a bench)
            # (VACUUM too on PostgreSQL: it marks the pages all-visible, so counts read the indexes)
            analyzed = time.perf_counter()
            statement = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(statement)
            lines.append(f"statistics ({statement}) in {time.perf_counter() - analyzed:.1f} s")
        for line in lines:
            click.echo(line)
    click.echo(f"Demo users: {', '.join(DEMO_USERNAMES)} (password: {password!r})"
               if current_app else "")


DEMO_USERNAMES = ("admin", "quality1", "pmo1", "archive1", "exec1", "pm1", "pm2", "sales1", "sales2")
