"""invitation tokens kept encrypted; outbox messages queued for delivery after commit

- invitations.token_encrypted: the link's token, encrypted under a key derived from
  SECRET_KEY, so the same link can be shown and copied again (existing invitations
  have none: they get a new link the first time one is needed);
- outbox_messages.status gains 'queued' (composed, to be e-mailed once the
  transaction that composed it has committed).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_STATUSES = ('outbox', 'copied', 'sent', 'failed')
NEW_STATUSES = ('outbox', 'queued', 'copied', 'sent', 'failed')


def _condition(values):
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_encrypted', sa.Text(), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_status'), _condition(NEW_STATUSES))


def downgrade():
    # a message still queued goes back to the outbox, where the PM can copy it
    op.execute("UPDATE outbox_messages SET status = 'outbox' WHERE status = 'queued'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_status'), _condition(OLD_STATUSES))
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('token_encrypted')
