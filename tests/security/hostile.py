"""A world whose every free text tries to break out: the authorization matrix's objects (one of
each kind, owned by PM B / sales B) with names, descriptions and answers set to hostile strings."""
from portal.extensions import db as _db

from .. import factories
from ..blueprints.test_authorization_matrix import _build_world

ALL_ROLES = ("pm", "sales", "quality", "pmo", "archive", "exec", "admin")


def fetching_payload(port):
    """Markup that would make a careless renderer fetch from the test's HTTP server or the disk."""
    base = f"http://127.0.0.1:{port}"
    return (f'<img src="{base}/img"><link rel="stylesheet" href="{base}/css">'
            f'<style>@import url("{base}/import"); body {{ background: url("file:///etc/passwd") }}</style>'
            f'<img src="{base}/redirect"><iframe src="file:///etc/passwd"></iframe>'
            f'<a rel="attachment" href="file:///etc/passwd">x</a>')


def build_hostile_world(text, short=None):
    """The matrix world with ``text`` in its free-text fields and ``short`` (at most 100
    characters) in its names; returns the world (ids) and the user ``everything`` (every role)."""
    short = short if short is not None else text[:100]
    everything = factories.user("everything", roles=ALL_ROLES)
    world = _build_world()
    from portal.models import (Client, Complaint, Contact, ImprovementPlan, Project, Question, SalesInquiry,
                               ServiceCase, Answer)
    ids = world.ids
    project = _db.session.get(Project, ids["project"])
    project.name = "项目" + short
    project.description = text
    client = _db.session.get(Client, ids["client"])
    client.name = "客户" + short
    contact = _db.session.get(Contact, ids["contact"])
    contact.name = "联系人" + short
    complaint = _db.session.get(Complaint, ids["complaint"])
    complaint.description = text
    inquiry = _db.session.get(SalesInquiry, ids["inquiry"])
    inquiry.major_problem_description = text
    case = _db.session.query(ServiceCase).one()
    case.summary, case.reporter = text, "报告人" + short
    plan = _db.session.get(ImprovementPlan, ids["plan"])
    plan.title, plan.measures = "计划" + short, text
    for question in _db.session.query(Question):
        question.text = question.text + text
    for answer in _db.session.query(Answer):
        if getattr(answer, "text_value", None) is not None:
            answer.text_value = text
    _db.session.commit()
    return world, everything
