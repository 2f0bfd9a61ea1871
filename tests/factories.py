"""Factories for test data. Each returns a flushed object; pass overrides as keywords."""
import itertools
from datetime import date

from portal.extensions import db
from portal.models import Client, Contact, Milestone, Project
from portal.services.accounts import create_user

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def user(username=None, roles=("pm",), **kw):
    username = username or f"user{next(_seq)}"
    u = create_user(username, kw.pop("password", PASSWORD), roles, **kw)
    db.session.commit()
    return u


def client(name=None, key_account=False, **kw):
    """A client; ``key_account=True`` stands in for an approved designation (the only other way
    the flag may be set, services.key_accounts.guard)."""
    from portal.services.key_accounts import decision_in_progress
    c = Client(name=name or f"客户{next(_seq)}", key_account=key_account, **kw)
    db.session.add(c)
    with decision_in_progress():
        db.session.commit()
    return c


def contact(client_=None, name=None, function="site_admin", **kw):
    c = Contact(client=client_ or client(), name=name or f"联系人{next(_seq)}", function=function,
                email=kw.pop("email", f"contact{next(_seq)}@example.cn"), **kw)
    db.session.add(c)
    db.session.commit()
    return c


def project(pm=None, sales=None, client_=None, code=None, **kw):
    p = Project(code=code or f"P-{next(_seq):04d}", name=kw.pop("name", "测试项目"),
                client=client_ or client(), pm=pm or user(roles=("pm",)), sales=sales,
                status=kw.pop("status", "active"), start_date=kw.pop("start_date", date(2026, 1, 5)),
                end_date=kw.pop("end_date", date(2027, 1, 5)), **kw)
    db.session.add(p)
    db.session.commit()
    return p


def milestone(project_, name="初验", **kw):
    m = Milestone(project=project_, name=name, **kw)
    db.session.add(m)
    db.session.commit()
    return m


def template_version(kind="pm_quarterly", language="zh", questions=None, name=None, variant_of=None):
    """A template with one version. ``questions``: list of dicts overriding the default set;
    ``variant_of``: a version whose questionnaire this template joins as its language variant."""
    from portal.models import Question, Questionnaire, Template, TemplateVersion
    from portal.services.scales import ensure_shipped_scales
    scales = ensure_shipped_scales()
    if questions is None:
        questions = [
            dict(code="attitude", text="服务态度", type="scale", scale="sat5_a", dimension="attitude"),
            dict(code="timeliness", text="响应及时性", type="scale", scale="sat5_a",
                 dimension="timeliness", allow_na=True),
            dict(code="technical", text="技术能力", type="scale", scale="points10", dimension="technical"),
            dict(code="opinion", text="意见和建议", type="text", required=False),
        ]
    questionnaire = variant_of.template.questionnaire if variant_of is not None else Questionnaire(kind=kind)
    template = Template(kind=kind, language=language, name=name or f"{kind}-{next(_seq)}")
    db.session.add(template)
    template.questionnaire = questionnaire
    version = TemplateVersion(template=template, number=1, title=template.name)
    for i, q in enumerate(questions):
        q = dict(q)
        scale = scales[q.pop("scale")] if q.get("scale") else None
        version.questions.append(Question(position=i, scale=scale, **{"required": True, **q}))
    db.session.add(version)
    db.session.commit()
    return version


def invitation(contact_=None, version=None, project_=None, due=None, expires_at=None):
    """A SurveyRound with one Invitation for ``contact_``; returns (invitation, raw token)."""
    from datetime import datetime, time, timedelta
    from portal.models import Invitation, SurveyRound
    from portal.services.quarters import quarter_of
    from portal.services.tokens import encrypt_token, new_token
    project_ = project_ or project()
    contact_ = contact_ or contact(project_.client)
    version = version or template_version()
    due = due or date.today() + timedelta(days=14)
    rnd = SurveyRound(project=project_, quarter=quarter_of(due), template_version=version,
                      due_date=due, created_by=project_.pm)
    token, token_hash = new_token()
    inv = Invitation(round=rnd, contact=contact_, token_hash=token_hash, token_encrypted=encrypt_token(token),
                     expires_at=expires_at or datetime.combine(due + timedelta(days=1), time.min))
    db.session.add_all([rnd, inv])
    db.session.commit()
    return inv, token


SALES_VISIT_QUESTIONS = [
    dict(code="attitude", text="项目团队的服务态度", type="scale", scale="sat5_b", dimension="attitude"),
    dict(code="overall", text="对本项目的总体满意程度", type="scale", scale="sat5_b", dimension="overall"),
    dict(code="opinion", text="意见和建议", type="text", required=False),
]


def inquiry(project_=None, sales=None, answers=None, *, version=None, on=None, mode="visit",
            on_behalf=False, major_problem=None, contacts=None, trigger=None):
    """A recorded sales inquiry (through services.sales_inquiries.record_inquiry) on a completed
    project of ``sales``; ``major_problem``: its description (flags it). Committed."""
    import secrets
    from portal.services.quarters import local_today
    from portal.services.sales_inquiries import InquiryInput, record_inquiry, triggers_of
    sales = sales or (project_.sales if project_ is not None and project_.sales else user(roles=("sales",)))
    project_ = project_ or project(sales=sales, status="completed", end_date=date(2026, 1, 31))
    version = version or template_version(kind="sales_visit", questions=SALES_VISIT_QUESTIONS)
    contacts = contacts or [contact(project_.client, function="procurement")]
    data = InquiryInput(
        inquired_on=on or local_today(), mode=mode, trigger=trigger or triggers_of(project_)[0].key,
        contact_ids=[c.id for c in contacts], respondent_id=contacts[0].id, on_behalf=on_behalf,
        major_problem=major_problem is not None, major_problem_description=major_problem,
        submission_key=secrets.token_urlsafe(16))
    result = record_inquiry(project_, sales, data, answers or {"q_attitude": "5", "q_overall": "5"},
                            version=version)
    db.session.commit()
    return result
