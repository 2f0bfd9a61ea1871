"""Demo questionnaire rounds: the past quarter nearly complete, the current one in progress,
with realistic answers (mostly good, some low scores, some comments)."""
import random
from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage, SurveyRound, Template, TemplateVersion
from ..services.answers import parse_answers
from ..services.quarters import quarter_bounds, quarter_of, shift_quarter
from ..services.responses import submit_response

COMMENTS_GOOD = ["驻场工程师响应很快，服务态度好。", "整体满意，希望继续保持。",
                 "技术能力强，故障处理及时。", "The on-site team is responsive and professional."]
COMMENTS_LOW = ["夜间故障响应偏慢，希望改进值守安排。", "巡检报告提交不及时，文档不够完整。",
                "备件更换周期太长，影响业务。", "沟通不够主动，变更前没有提前通知。"]


def load(users, projects, today):
    from ..services.invitation_messages import mark_message_sent, send_invitations
    from ..services.outbound import smtp_enabled
    from ..services.rounds import open_round
    from ..seed.templates import ensure_default_templates
    ensure_default_templates()
    rng = random.Random(20261123)
    current = quarter_of(today)
    past = shift_quarter(current, -1)
    created = 0
    for quarter, completion in ((past, 0.85), (current, 0.45)):
        first, last = quarter_bounds(quarter)
        for index, project in enumerate(p for p in projects if p.status == "active"):
            if quarter == current and index % 5 == 4:
                continue  # some projects still lack this quarter's round: the dashboard shows it
            if _has_round(project, quarter):
                continue
            language = "en" if index % 6 == 5 else "zh"
            version = _current_version("pm_quarterly", language)
            contacts = [c for c in project.client.contacts if not c.opted_out][index % 3: index % 3 + 3]
            rnd = open_round(project, quarter, version, contacts, last, project.pm)
            rnd.created_at = datetime.combine(first + timedelta(days=20), time(9, 30))
            result = send_invitations(rnd, now=rnd.created_at) if not smtp_enabled() else None
            for invitation in rnd.invitations:
                _fill(invitation, version, project, rnd, rng, completion, first, today)
            if result is not None:  # demo data never e-mails anyone: the messages went to the outbox,
                # and the PM copied and sent those the contacts then opened; a few still wait
                for message in db.session.scalars(select(OutboxMessage).where(
                        OutboxMessage.id.in_(result.message_ids))):
                    if message.invitation.opened_at is not None or message.invitation.answered:
                        mark_message_sent(message, project.pm, now=rnd.created_at + timedelta(hours=1))
            created += 1
    db.session.flush()
    return [f"{created} questionnaire rounds ({past}, {current}) with responses"]


def _has_round(project, quarter):
    return db.session.scalar(select(SurveyRound.id).where(
        SurveyRound.project_id == project.id, SurveyRound.quarter == quarter)) is not None


def _current_version(kind, language):
    return db.session.scalars(
        select(TemplateVersion).join(Template)
        .where(Template.kind == kind, Template.language == language)
        .order_by(TemplateVersion.number.desc())).first()


def _fill(invitation, version, project, rnd, rng, completion, first, today):
    roll = rng.random()
    opened = datetime.combine(first + timedelta(days=21 + rng.randint(0, 30)), time(10, 15))
    if opened.date() > today:
        opened = datetime.combine(today, time(8, 0))
    if roll > completion + 0.3:
        return  # not opened yet
    invitation.opened_at = opened
    unhappy = rng.random() < 0.2
    data = {}
    for q in version.questions:
        if q.type == "text":
            if unhappy or rng.random() < 0.3:
                data[f"q_{q.code}"] = rng.choice(COMMENTS_LOW if unhappy else COMMENTS_GOOD)
        elif q.scale is not None and q.scale.style == "labels":
            values = sorted((o.value for o in q.scale.options), reverse=True)
            pick = rng.choice(values[2:4] if unhappy else values[:2])
            data[f"q_{q.code}"] = "na" if q.allow_na and rng.random() < 0.05 else f"{pick:g}"
        elif q.scale is not None:
            data[f"q_{q.code}"] = f"{rng.randint(55, 75) if unhappy else rng.randint(82, 99)}"
        elif q.type == "choice" and q.choices:
            data[f"q_{q.code}"] = rng.choice(q.choices)
    if roll > completion:
        invitation.draft = data
        invitation.draft_saved_at = opened + timedelta(minutes=6)
        return
    parsed = parse_answers(version, data, complete=True)
    channel = "paper" if rng.random() < 0.2 else "online"
    submit_response(version, parsed, channel=channel, project=project,
                    origin=invitation, contact=invitation.contact,
                    entered_by=project.pm if channel == "paper" else None,
                    started_at=opened, submitted_at=opened + timedelta(minutes=rng.randint(4, 25)))
