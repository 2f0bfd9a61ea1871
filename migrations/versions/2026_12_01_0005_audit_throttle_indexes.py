"""audit_events indexes for the sign-in and link-guessing throttles

The throttles (services/throttle.py) count recent failures per account
(action, username, at) and per address (action, ip, at) on every attempt.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:15:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_action_username_at', ['action', 'username', 'at'], unique=False)
        batch_op.create_index('ix_audit_events_action_ip_at', ['action', 'ip', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_action_ip_at')
        batch_op.drop_index('ix_audit_events_action_username_at')
