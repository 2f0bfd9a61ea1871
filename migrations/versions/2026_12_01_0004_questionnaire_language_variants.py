"""questionnaires with language variants; rounds send each contact the variant in their language

- questionnaires: one per questionnaire; templates.questionnaire_id (NOT NULL) makes each
  template one language variant of it, unique per (questionnaire, language). Existing
  templates each get a questionnaire of their own, except the shipped default templates,
  whose zh and en templates of a kind become variants of one questionnaire;
- round_versions: the version of each language variant a round sends (existing rounds:
  their one version);
- invitations.language: the variant each contact is sent (existing: the round's language).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: the shipped default templates (portal/seed/templates.py) that are one questionnaire each
DEFAULT_PAIRS = [
    ('pm_quarterly', '运维服务季度客户满意度调查表', 'Quarterly O&M Service Customer Satisfaction Survey'),
    ('sales_visit', '项目客户满意度回访调查表', 'Project Customer Satisfaction Inquiry'),
    ('callback', '服务工单电话回访记录表', 'Service Ticket Callback Record'),
]
KINDS = "kind IN ('pm_quarterly', 'sales_visit', 'callback')"
LANGUAGES = "language IN ('zh', 'en')"


def upgrade():
    op.create_table(
        'questionnaires',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f('ck_questionnaires_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires')))
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('questionnaire_id', sa.Integer(), nullable=True))

    conn = op.get_bind()
    templates = conn.execute(sa.text("SELECT id, kind, language, name, created_at FROM templates ORDER BY id")).all()
    by_name = {(t.kind, t.name): t for t in templates}
    paired = {}
    for kind, zh_name, en_name in DEFAULT_PAIRS:
        zh, en = by_name.get((kind, zh_name)), by_name.get((kind, en_name))
        if zh is not None and en is not None and zh.language == 'zh' and en.language == 'en':
            paired[en.id] = zh.id
    questionnaire_of = {}
    for t in templates:
        if t.id in paired:
            continue
        result = conn.execute(sa.text("INSERT INTO questionnaires (kind, created_at) VALUES (:kind, :at)"
                                      " RETURNING id"), {"kind": t.kind, "at": t.created_at})
        questionnaire_of[t.id] = result.scalar_one()
    for en_id, zh_id in paired.items():
        questionnaire_of[en_id] = questionnaire_of[zh_id]
    for template_id, questionnaire_id in questionnaire_of.items():
        conn.execute(sa.text("UPDATE templates SET questionnaire_id = :q WHERE id = :t"),
                     {"q": questionnaire_id, "t": template_id})

    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.alter_column('questionnaire_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_templates_questionnaire_id'), ['questionnaire_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_templates_questionnaire_id_questionnaires'),
                                    'questionnaires', ['questionnaire_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_templates_questionnaire_id_language'),
                                          ['questionnaire_id', 'language'])

    op.create_table(
        'round_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('template_version_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(LANGUAGES, name=op.f('ck_round_versions_language')),
        sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'],
                                name=op.f('fk_round_versions_round_id_survey_rounds'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['template_version_id'], ['template_versions.id'],
                                name=op.f('fk_round_versions_template_version_id_template_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_round_versions')),
        sa.UniqueConstraint('round_id', 'language', name=op.f('uq_round_versions_round_id_language')))
    with op.batch_alter_table('round_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_versions_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_versions_template_version_id'), ['template_version_id'],
                              unique=False)
    op.execute(
        "INSERT INTO round_versions (round_id, language, template_version_id)"
        " SELECT survey_rounds.id, templates.language, survey_rounds.template_version_id"
        " FROM survey_rounds JOIN template_versions ON template_versions.id = survey_rounds.template_version_id"
        " JOIN templates ON templates.id = template_versions.template_id")

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    op.execute(
        "UPDATE invitations SET language = (SELECT templates.language FROM survey_rounds"
        " JOIN template_versions ON template_versions.id = survey_rounds.template_version_id"
        " JOIN templates ON templates.id = template_versions.template_id"
        " WHERE survey_rounds.id = invitations.round_id)")
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=8), nullable=False)
        batch_op.create_check_constraint(op.f('ck_invitations_language'), LANGUAGES)


def downgrade():
    # each round keeps its chosen version; a contact who read another variant loses that choice
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invitations_language'), type_='check')
        batch_op.drop_column('language')
    with op.batch_alter_table('round_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_versions_template_version_id'))
        batch_op.drop_index(batch_op.f('ix_round_versions_round_id'))
    op.drop_table('round_versions')
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_templates_questionnaire_id_language'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_templates_questionnaire_id_questionnaires'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_templates_questionnaire_id'))
        batch_op.drop_column('questionnaire_id')
    op.drop_table('questionnaires')
