"""data generation, complaints by date

One row counting committed write transactions (portal/models/generation.py): the figures the
busiest pages show are kept per process while it does not change (services/figures_cache.py).
An index on complaints (created_at, id): the complaint list is read newest first, the reports by
period. A partial index on responses (quarter) of the forms not archived yet: the PMO's home asks
which published quarters still have some; and one on responses (quarter, score): the quarter's
lowest scores.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('data_generation',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_generation'))
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_created_at_id', ['created_at', 'id'], unique=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_quarter_score', ['quarter', 'score'], unique=False)
        batch_op.create_index('ix_responses_quarter_unarchived', ['quarter'], unique=False,
                              postgresql_where=sa.text('archived_at IS NULL'),
                              sqlite_where=sa.text('archived_at IS NULL'))


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_quarter_unarchived')
        batch_op.drop_index('ix_responses_quarter_score')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_created_at_id')
    op.drop_table('data_generation')
