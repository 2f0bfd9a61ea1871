"""followups and followup_events: the closed loop on responses (DESIGN §4.4)

One follow-up per response (unique response_id), opened by the response_submitted
hook; every step of its timeline is a followup_events row. ``version`` is the
optimistic lock the transition service checks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# the values of this revision's day (a migration never imports the models)
STATES = ("open", "contacted", "escalated", "answered", "resolved", "closed", "reopened")
CONTACT_MODES = ("phone", "visit", "email", "message")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('direction', sa.String(length=32), nullable=True),
    sa.Column('problem_type', sa.String(length=32), nullable=True),
    sa.Column('triggers', sa.JSON(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('due_calendar_missing', sa.Integer(), nullable=True),
    sa.Column('contacted_at', sa.DateTime(), nullable=True),
    sa.Column('contact_how', sa.String(length=12), nullable=True),
    sa.Column('contact_note', sa.Text(), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('corrective_action', sa.Text(), nullable=True),
    sa.Column('preventive_action', sa.Text(), nullable=True),
    sa.Column('escalated_to_id', sa.Integer(), nullable=True),
    sa.Column('escalation_reason', sa.Text(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('escalation_answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('reopen_reason', sa.Text(), nullable=True),
    sa.Column('overdue_notified_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint(_in('state', STATES), name=op.f('ck_followups_state')),
    sa.CheckConstraint(_in('contact_how', CONTACT_MODES), name=op.f('ck_followups_contact_how')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_followups_answered_by_id_users')),
    sa.ForeignKeyConstraint(['escalated_to_id'], ['users.id'], name=op.f('fk_followups_escalated_to_id_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_followups_owner_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_followups_project_id_projects')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_followups_response_id_responses')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_followups_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups')),
    sa.UniqueConstraint('response_id', name=op.f('uq_followups_response_id'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_escalated_to_id'), ['escalated_to_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_followups_owner_id_state', ['owner_id', 'state'], unique=False)
        batch_op.create_index('ix_followups_state_due_on', ['state', 'due_on'], unique=False)

    op.create_table('followup_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint(_in('from_state', STATES), name=op.f('ck_followup_events_from_state')),
    sa.CheckConstraint(_in('to_state', STATES), name=op.f('ck_followup_events_to_state')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_followup_events_actor_id_users')),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_followup_events_followup_id_followups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_events'))
    )
    with op.batch_alter_table('followup_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_events_followup_id'), ['followup_id'], unique=False)


def downgrade():
    with op.batch_alter_table('followup_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_events_followup_id'))
    op.drop_table('followup_events')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index('ix_followups_state_due_on')
        batch_op.drop_index('ix_followups_owner_id_state')
        batch_op.drop_index(batch_op.f('ix_followups_project_id'))
        batch_op.drop_index(batch_op.f('ix_followups_escalated_to_id'))
    op.drop_table('followups')
