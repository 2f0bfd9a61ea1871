"""key accounts relationship callbacks

The key-account programme (DESIGN §4.9): key_account_decisions (proposals to designate or
withdraw and the executive's decision; one pending per client), key_accounts (team, service
plan, relationship-callback schedule). callback_tasks gains kind (ticket | relationship),
project_id (backfilled from the case), the account, the scheduled and due dates and the contact;
a ticket task's case, draw, priority and rank become optional for relationship calls only
(a CHECK per kind). Downgrading deletes the relationship calls.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 15:50:43.467739

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

KIND_FIELDS = ("(kind = 'ticket' AND case_id IS NOT NULL AND draw_id IS NOT NULL AND priority IS NOT NULL"
               " AND rank IS NOT NULL) OR (kind = 'relationship' AND key_account_id IS NOT NULL"
               " AND scheduled_on IS NOT NULL AND due_on IS NOT NULL)")


def upgrade():
    op.create_table('key_account_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('business_volume', sa.Text(), nullable=True),
    sa.Column('cooperation_potential', sa.Text(), nullable=True),
    sa.Column('industry_influence', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.CheckConstraint("action IN ('designate', 'withdraw')", name=op.f('ck_key_account_decisions_action')),
    sa.CheckConstraint("state IN ('pending', 'approved', 'declined')", name=op.f('ck_key_account_decisions_state')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_key_account_decisions_client_id_clients')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_key_account_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_key_account_decisions_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_account_decisions'))
    )
    with op.batch_alter_table('key_account_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_account_decisions_client_id'), ['client_id'], unique=False)
        batch_op.create_index('uq_key_account_decisions_pending', ['client_id'], unique=True, sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))

    op.create_table('key_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('designated_at', sa.DateTime(), nullable=False),
    sa.Column('pm_id', sa.Integer(), nullable=True),
    sa.Column('service_contact_id', sa.Integer(), nullable=True),
    sa.Column('engineer_id', sa.Integer(), nullable=True),
    sa.Column('sales_id', sa.Integer(), nullable=True),
    sa.Column('callback_every_weeks', sa.Integer(), nullable=True),
    sa.Column('callback_starts_on', sa.Date(), nullable=True),
    sa.Column('callback_contact_id', sa.Integer(), nullable=True),
    sa.Column('callback_project_id', sa.Integer(), nullable=True),
    sa.Column('plan_text', sa.Text(), nullable=True),
    sa.Column('plan_original_name', sa.String(length=255), nullable=True),
    sa.Column('plan_stored_name', sa.String(length=80), nullable=True),
    sa.Column('plan_content_type', sa.String(length=80), nullable=True),
    sa.Column('plan_size', sa.Integer(), nullable=True),
    sa.Column('plan_sha256', sa.String(length=64), nullable=True),
    sa.Column('plan_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('plan_approved_at', sa.DateTime(), nullable=True),
    sa.Column('plan_agreed_on', sa.Date(), nullable=True),
    sa.Column('report_language', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("report_language IN ('zh', 'en')", name=op.f('ck_key_accounts_report_language')),
    sa.ForeignKeyConstraint(['callback_contact_id'], ['contacts.id'], name=op.f('fk_key_accounts_callback_contact_id_contacts')),
    sa.ForeignKeyConstraint(['callback_project_id'], ['projects.id'], name=op.f('fk_key_accounts_callback_project_id_projects')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_key_accounts_client_id_clients')),
    sa.ForeignKeyConstraint(['engineer_id'], ['users.id'], name=op.f('fk_key_accounts_engineer_id_users')),
    sa.ForeignKeyConstraint(['plan_approved_by_id'], ['users.id'], name=op.f('fk_key_accounts_plan_approved_by_id_users')),
    sa.ForeignKeyConstraint(['pm_id'], ['users.id'], name=op.f('fk_key_accounts_pm_id_users')),
    sa.ForeignKeyConstraint(['sales_id'], ['users.id'], name=op.f('fk_key_accounts_sales_id_users')),
    sa.ForeignKeyConstraint(['service_contact_id'], ['users.id'], name=op.f('fk_key_accounts_service_contact_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_accounts')),
    sa.UniqueConstraint('client_id', name=op.f('uq_key_accounts_client_id')),
    sa.UniqueConstraint('plan_stored_name', name=op.f('uq_key_accounts_plan_stored_name'))
    )
    with op.batch_alter_table('key_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_accounts_engineer_id'), ['engineer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_key_accounts_pm_id'), ['pm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_key_accounts_sales_id'), ['sales_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_key_accounts_service_contact_id'), ['service_contact_id'], unique=False)

    # callback tasks: a ticket's (as before) or a key account's relationship call; every task names
    # its project (a ticket's is its case's, filled in here before the column becomes required)
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), server_default='ticket', nullable=False))
        batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('key_account_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('scheduled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
    op.execute("UPDATE callback_tasks SET project_id = (SELECT service_cases.project_id FROM service_cases "
               "WHERE service_cases.id = callback_tasks.case_id)")
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('case_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column('draw_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column('priority', existing_type=sa.VARCHAR(length=2), nullable=True)
        batch_op.alter_column('rank', existing_type=sa.VARCHAR(length=80), nullable=True)
        batch_op.create_index(batch_op.f('ix_callback_tasks_key_account_id'), ['key_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_tasks_project_id'), ['project_id'], unique=False)
        batch_op.create_unique_constraint('uq_callback_tasks_key_account_id_scheduled_on',
                                          ['key_account_id', 'scheduled_on'])
        batch_op.create_foreign_key(batch_op.f('fk_callback_tasks_key_account_id_key_accounts'), 'key_accounts',
                                    ['key_account_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_callback_tasks_project_id_projects'), 'projects',
                                    ['project_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_callback_tasks_contact_id_contacts'), 'contacts',
                                    ['contact_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_callback_tasks_kind'), "kind IN ('ticket', 'relationship')")
        batch_op.create_check_constraint(op.f('ck_callback_tasks_kind_fields'), KIND_FIELDS)


def downgrade():
    # relationship calls have no case: they go, with their attempts (their callback forms stay)
    op.execute("DELETE FROM call_attempts WHERE task_id IN (SELECT id FROM callback_tasks WHERE kind = 'relationship')")
    op.execute("DELETE FROM callback_tasks WHERE kind = 'relationship'")
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_callback_tasks_kind_fields'), type_='check')
        batch_op.drop_constraint(op.f('ck_callback_tasks_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_callback_tasks_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_callback_tasks_project_id_projects'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_callback_tasks_key_account_id_key_accounts'), type_='foreignkey')
        batch_op.drop_constraint('uq_callback_tasks_key_account_id_scheduled_on', type_='unique')
        batch_op.drop_index(batch_op.f('ix_callback_tasks_project_id'))
        batch_op.drop_index(batch_op.f('ix_callback_tasks_key_account_id'))
        batch_op.alter_column('rank', existing_type=sa.VARCHAR(length=80), nullable=False)
        batch_op.alter_column('priority', existing_type=sa.VARCHAR(length=2), nullable=False)
        batch_op.alter_column('draw_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.alter_column('case_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('contact_id')
        batch_op.drop_column('due_on')
        batch_op.drop_column('scheduled_on')
        batch_op.drop_column('key_account_id')
        batch_op.drop_column('project_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('key_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_accounts_service_contact_id'))
        batch_op.drop_index(batch_op.f('ix_key_accounts_sales_id'))
        batch_op.drop_index(batch_op.f('ix_key_accounts_pm_id'))
        batch_op.drop_index(batch_op.f('ix_key_accounts_engineer_id'))

    op.drop_table('key_accounts')
    with op.batch_alter_table('key_account_decisions', schema=None) as batch_op:
        batch_op.drop_index('uq_key_account_decisions_pending', sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_key_account_decisions_client_id'))

    op.drop_table('key_account_decisions')
