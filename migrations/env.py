"""Alembic environment for Flask-Migrate.

The engine and the metadata come from the running app (create_app passes
render_as_batch=True and compare_type=True). Migrations run on SQLite and
PostgreSQL. On SQLite they run with foreign keys switched off, because batch
mode rebuilds a table by copy-drop-rename, which an enforced foreign key from
another table would break; the keys are checked before the commit instead.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config

# The CLI gets alembic's log lines; under tests the app's logging stays as it is.
if config.config_file_name and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

import portal.models  # noqa: E402,F401  every table registered on the metadata

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    """Emit SQL to stdout (`flask db upgrade --sql`)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=get_metadata(),
                      literal_binds=True, **current_app.extensions["migrate"].configure_args)
    with context.begin_transaction():
        context.run_migrations()


def _skip_empty_autogenerate(context_, revision, directives):
    """`flask db migrate` with no model change writes no empty revision file."""
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def run_migrations_online():
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", _skip_empty_autogenerate)

    with get_engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # outside any transaction (the pragma is a no-op inside one); reset in finally
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            # our engine emits BEGIN IMMEDIATE itself, so SQLite DDL is transactional too:
            # a failed migration leaves the database as it was
            context.configure(connection=connection, target_metadata=get_metadata(),
                              transactional_ddl=True, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration leaves broken foreign keys: {broken[:10]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
