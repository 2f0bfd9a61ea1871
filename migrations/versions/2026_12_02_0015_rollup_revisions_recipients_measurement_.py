"""rollup revisions recipients measurement plans history

The quarterly rollup (DESIGN §4.5): rollup_revisions (a quarter's published figures, frozen as
JSON, numbered within the quarter), report_recipients (who each revision went to and their
acknowledgement), measurement_plans (versioned per year), history_imports and historical_results
(past quarters' results per project and dimension, "overall" for the whole form). responses gain
edited_at and edit_count: a correction of a form's answers after submission (flagged for
verification).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 18:33:59.073676

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('edit_count', sa.Integer(), server_default='0', nullable=False))
    op.create_table('history_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_history_imports_imported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_imports'))
    )
    with op.batch_alter_table('history_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_imports_sha256'), ['sha256'], unique=False)

    op.create_table('measurement_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('frequencies', sa.JSON(), nullable=False),
    sa.Column('sampling_rates', sa.JSON(), nullable=False),
    sa.Column('owners', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_measurement_plans_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measurement_plans')),
    sa.UniqueConstraint('year', 'version', name=op.f('uq_measurement_plans_year_version'))
    )
    with op.batch_alter_table('measurement_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measurement_plans_year'), ['year'], unique=False)

    op.create_table('historical_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=6), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=32), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('satisfaction_rate', sa.Float(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['history_imports.id'], name=op.f('fk_historical_results_import_id_history_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_historical_results_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_historical_results')),
    sa.UniqueConstraint('quarter', 'project_id', 'dimension', name=op.f('uq_historical_results_quarter_project_id_dimension'))
    )
    with op.batch_alter_table('historical_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_historical_results_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_historical_results_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_historical_results_quarter'), ['quarter'], unique=False)

    op.create_table('rollup_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=6), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('measurement_plan_id', sa.Integer(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_plan_id'], ['measurement_plans.id'], name=op.f('fk_rollup_revisions_measurement_plan_id_measurement_plans')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_rollup_revisions_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_revisions')),
    sa.UniqueConstraint('quarter', 'number', name=op.f('uq_rollup_revisions_quarter_number'))
    )
    with op.batch_alter_table('rollup_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollup_revisions_quarter'), ['quarter'], unique=False)

    op.create_table('report_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("purpose IN ('review', 'action')", name=op.f('ck_report_recipients_purpose')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_report_recipients_department_id_departments')),
    sa.ForeignKeyConstraint(['revision_id'], ['rollup_revisions.id'], name=op.f('fk_report_recipients_revision_id_rollup_revisions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_recipients_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_recipients')),
    sa.UniqueConstraint('revision_id', 'user_id', name=op.f('uq_report_recipients_revision_id_user_id'))
    )
    with op.batch_alter_table('report_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_recipients_revision_id'), ['revision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_recipients_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('edit_count')
        batch_op.drop_column('edited_at')
    with op.batch_alter_table('report_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_recipients_user_id'))
        batch_op.drop_index(batch_op.f('ix_report_recipients_revision_id'))

    op.drop_table('report_recipients')
    with op.batch_alter_table('rollup_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollup_revisions_quarter'))

    op.drop_table('rollup_revisions')
    with op.batch_alter_table('historical_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_historical_results_quarter'))
        batch_op.drop_index(batch_op.f('ix_historical_results_project_id'))
        batch_op.drop_index(batch_op.f('ix_historical_results_import_id'))

    op.drop_table('historical_results')
    with op.batch_alter_table('measurement_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measurement_plans_year'))

    op.drop_table('measurement_plans')
    with op.batch_alter_table('history_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_imports_sha256'))

    op.drop_table('history_imports')
