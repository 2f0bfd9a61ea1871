"""followups routed to a department, complainant language

followups.department_id: the department a follow-up was routed to for action; its head and
members see it in their queue (DESIGN §2). Nullable: nothing existing is routed.
complaints.complainant_language: the language a complainant not on file wrote in (the public
form's page); existing complaints keep none (Chinese, as before).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 15:24:52.925953

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complainant_language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_followups_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_followups_department_id_departments'), 'departments', ['department_id'], ['id'])


def downgrade():
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_followups_department_id_departments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_followups_department_id'))
        batch_op.drop_column('department_id')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('complainant_language')
