"""sales_inquiries and inquiry_contacts (DESIGN §4.2); responses.channel gains 'email'

A sales inquiry is the origin of one sales_visit response (unique response_id); its
submission_key makes a repeated submit find the inquiry already recorded. A major
problem waits on the executives' home page until acknowledged (the partial list is
read through ix_sales_inquiries_major_problem_acknowledged_at).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# the values of this revision's day (a migration never imports the models)
MODES = ("visit", "phone", "email")
TRIGGERS = ("completion", "milestone")
OLD_CHANNELS = ("online", "paper", "phone", "visit", "on_behalf")
NEW_CHANNELS = ("online", "paper", "phone", "visit", "email", "on_behalf")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _channels(values):
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_responses_channel'), type_='check')
        batch_op.create_check_constraint(op.f('ck_responses_channel'), _in('channel', values))


def upgrade():
    _channels(NEW_CHANNELS)
    op.create_table('sales_inquiries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('sales_id', sa.Integer(), nullable=False),
    sa.Column('inquired_on', sa.Date(), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('trigger', sa.String(length=12), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=True),
    sa.Column('on_behalf', sa.Boolean(), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('major_problem', sa.Boolean(), nullable=False),
    sa.Column('major_problem_description', sa.Text(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledgement_note', sa.Text(), nullable=True),
    sa.Column('submission_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(_in('mode', MODES), name=op.f('ck_sales_inquiries_mode')),
    sa.CheckConstraint(_in('trigger', TRIGGERS), name=op.f('ck_sales_inquiries_trigger')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_sales_inquiries_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_sales_inquiries_milestone_id_milestones'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_sales_inquiries_project_id_projects')),
    sa.ForeignKeyConstraint(['respondent_id'], ['contacts.id'], name=op.f('fk_sales_inquiries_respondent_id_contacts')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_sales_inquiries_response_id_responses')),
    sa.ForeignKeyConstraint(['sales_id'], ['users.id'], name=op.f('fk_sales_inquiries_sales_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_inquiries')),
    sa.UniqueConstraint('response_id', name=op.f('uq_sales_inquiries_response_id')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_sales_inquiries_submission_key'))
    )
    with op.batch_alter_table('sales_inquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_inquiries_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_inquiries_sales_id'), ['sales_id'], unique=False)
        batch_op.create_index('ix_sales_inquiries_major_problem_acknowledged_at',
                              ['major_problem', 'acknowledged_at'], unique=False)

    op.create_table('inquiry_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inquiry_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('function', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_inquiry_contacts_contact_id_contacts')),
    sa.ForeignKeyConstraint(['inquiry_id'], ['sales_inquiries.id'], name=op.f('fk_inquiry_contacts_inquiry_id_sales_inquiries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiry_contacts'))
    )
    with op.batch_alter_table('inquiry_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiry_contacts_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_contacts_inquiry_id'), ['inquiry_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inquiry_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiry_contacts_inquiry_id'))
        batch_op.drop_index(batch_op.f('ix_inquiry_contacts_contact_id'))
    op.drop_table('inquiry_contacts')
    with op.batch_alter_table('sales_inquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_inquiries_major_problem_acknowledged_at')
        batch_op.drop_index(batch_op.f('ix_sales_inquiries_sales_id'))
        batch_op.drop_index(batch_op.f('ix_sales_inquiries_project_id'))
    op.drop_table('sales_inquiries')
    # responses answered by e-mail go back to 'paper', the channel closest to it before 0009
    op.execute("UPDATE responses SET channel = 'paper' WHERE channel = 'email'")
    _channels(OLD_CHANNELS)
