"""enum checks, rollup index, unique template names, scale option points

- every enum column gets a CHECK from the models' value tuples (the lists are written
  out here: a migration keeps the values of its day), named ck_<table>_<column> so
  later batch migrations on SQLite keep them; outbox_messages.status gains 'copied';
- responses(quarter, verification_status, project_id): the rollups' filter;
- templates: (kind, language, name) unique, as the service already checks;
- scale_options.points: each option's 5-point value (DESIGN §5). Existing options get
  the linear map of their value on their scale's lo..hi, which is what their answers'
  normalized values were computed with, so stored answers stay unchanged.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


CHECKS = {
    # table: {column: allowed values}
    'projects': {'status': ('active', 'completed', 'suspended')},
    'responses': {'channel': ('online', 'paper', 'phone', 'visit', 'on_behalf'),
                  'verification_status': ('pending', 'authentic', 'rejected')},
    'templates': {'kind': ('pm_quarterly', 'sales_visit', 'callback'),
                  'language': ('zh', 'en')},
    'questions': {'type': ('scale', 'choice', 'text', 'yes_no'),
                  'dimension': ('attitude', 'timeliness', 'technical', 'communication',
                                'resolution', 'documentation', 'overall')},  # or NULL
    'scales': {'style': ('labels', 'numeric')},
    'user_roles': {'role': ('pm', 'sales', 'quality', 'pmo', 'archive', 'exec', 'admin')},
    'contacts': {'function': ('site_admin', 'noc_operator', 'ops_leader', 'procurement',
                              'construction', 'project_lead', 'department_head'),
                 'language': ('zh', 'en')},
    'outbox_messages': {'status': ('outbox', 'copied', 'sent', 'failed'),
                        'kind': ('invitation', 'reminder')},
}

ROLLUP_INDEX = 'ix_responses_quarter_verification_status_project_id'


def _condition(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    # a scale whose lo equals its hi could never be scored: such a row fails here, loudly
    op.add_column('scale_options', sa.Column('points', sa.Float(), nullable=True))
    op.execute(
        "UPDATE scale_options SET points = ("
        " SELECT 1 + 4 * (scale_options.value - scales.lo) / (scales.hi - scales.lo)"
        " FROM scales WHERE scales.id = scale_options.scale_id)")
    with op.batch_alter_table('scale_options', schema=None) as batch_op:
        batch_op.alter_column('points', existing_type=sa.Float(), nullable=False)

    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, values))
            if table == 'responses':
                batch_op.create_index(ROLLUP_INDEX, ['quarter', 'verification_status', 'project_id'],
                                      unique=False)
            if table == 'templates':
                batch_op.create_unique_constraint(op.f('uq_templates_kind_language_name'),
                                                  ['kind', 'language', 'name'])


def downgrade():
    # the data stays as it is (0001 checks no values; a 'copied' message stays copied)
    for table, columns in reversed(list(CHECKS.items())):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'templates':
                batch_op.drop_constraint(op.f('uq_templates_kind_language_name'), type_='unique')
            if table == 'responses':
                batch_op.drop_index(ROLLUP_INDEX)
            for column in reversed(list(columns)):
                batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')

    with op.batch_alter_table('scale_options', schema=None) as batch_op:
        batch_op.drop_column('points')
