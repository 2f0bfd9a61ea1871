"""The database's own guard on archived forms (DESIGN §4.6), beside the ORM's
(services.archive.guard): triggers, on SQLite and PostgreSQL, that refuse

- deleting an archived response (a disposed one too: its row stays, emptied, with its tombstone);
- changing what an archived response says — its scores, verification, quarter, project, dates —
  and changing its comment or contact except while it is disposed of, or disposing of it while
  it is on legal hold;
- adding, changing or deleting the answers or scans of an archived response, except deleting
  them while it is disposed of.

The statements are migration 0016's (it runs them); the tests' ``create_all`` runs them too.
Never edit them in place: a change is a new migration. A later SQLite batch migration that
copies one of these tables drops its triggers with the old table: it must create them again."""
from sqlalchemy import DDL, event

MESSAGE = "archived record: read-only until its retention date"
TABLES = ("responses", "answers", "attachments")

#: columns an archived response keeps as they are, whatever happens
_FIXED = ("quarter", "project_id", "template_version_id", "channel", "score", "submitted_at", "verification_status",
          "verification_reason", "verified_by_id", "verified_at", "archived_at", "retain_until", "edit_count",
          "entered_by_id")
#: columns only a disposal empties
_CONTENT = ("comment", "contact_id", "client_ip", "user_agent")


def _changed(columns, differs):
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def _response_update_refused(differs):
    return (f"OLD.archived_at IS NOT NULL AND (({_changed(_FIXED, differs)})"
            f" OR (NEW.disposed_at IS NULL AND ({_changed(_CONTENT, differs)}))"
            f" OR (OLD.disposed_at IS NOT NULL AND NEW.disposed_at {differs} OLD.disposed_at)"
            f" OR (NEW.disposed_at IS NOT NULL AND OLD.disposed_at IS NULL AND OLD.legal_hold))")


def _kept(ref):
    """The response ``ref`` (OLD.response_id / NEW.response_id) is archived and not disposed of."""
    return (f"EXISTS (SELECT 1 FROM responses r WHERE r.id = {ref} "
            f"AND r.archived_at IS NOT NULL AND r.disposed_at IS NULL)")


def _archived(ref):
    return f"EXISTS (SELECT 1 FROM responses r WHERE r.id = {ref} AND r.archived_at IS NOT NULL)"


def _rules(differs):
    """(name, table, event, condition) of every trigger."""
    rules = [("archive_keep_response", "responses", "DELETE", "OLD.archived_at IS NOT NULL"),
             ("archive_fix_response", "responses", "UPDATE", _response_update_refused(differs))]
    for table in ("answers", "attachments"):
        rules += [(f"archive_no_new_{table}", table, "INSERT", _archived("NEW.response_id")),
                  (f"archive_fix_{table}", table, "UPDATE", _kept("OLD.response_id")),
                  (f"archive_keep_{table}", table, "DELETE", _kept("OLD.response_id"))]
    return rules


def create_statements(dialect):
    if dialect == "sqlite":
        return [f"CREATE TRIGGER {name} BEFORE {ev} ON {table} FOR EACH ROW WHEN {cond} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                for name, table, ev, cond in _rules("IS NOT")]
    if dialect == "postgresql":
        out = [f"CREATE OR REPLACE FUNCTION archive_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
               f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; END $$"]
        out += [f"CREATE TRIGGER {name} BEFORE {ev} ON {table} FOR EACH ROW WHEN ({cond}) "
                f"EXECUTE FUNCTION archive_refuse()"
                for name, table, ev, cond in _rules("IS DISTINCT FROM") if "EXISTS" not in cond]
        # a trigger's WHEN may not hold a subquery on PostgreSQL: those rules test inside a function
        for name, table, ev, cond in _rules("IS DISTINCT FROM"):
            if "EXISTS" in cond:
                row = "OLD" if ev == "DELETE" else "NEW"  # a BEFORE trigger's row is what gets written
                out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                           f"BEGIN IF {cond} THEN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; "
                           f"END IF; RETURN {row}; END $$")
                out.append(f"CREATE TRIGGER {name} BEFORE {ev} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        return out
    return []


def drop_statements(dialect):
    if dialect not in ("sqlite", "postgresql"):
        return []
    pg = dialect == "postgresql"
    out = [f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if pg else "") for name, table, _e, _c in _rules("")]
    if pg:
        out += [f"DROP FUNCTION IF EXISTS {name}()" for name, _t, _e, cond in _rules("") if "EXISTS" in cond]
        out.append("DROP FUNCTION IF EXISTS archive_refuse()")
    return out


def install(metadata):
    """Create the triggers with the tables (``metadata.create_all``)."""
    for dialect in ("sqlite", "postgresql"):
        for statement in create_statements(dialect):
            event.listen(metadata, "after_create", DDL(statement).execute_if(dialect=dialect))
