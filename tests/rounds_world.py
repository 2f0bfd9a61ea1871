"""A project with contacts and a PM questionnaire, for the rounds tests."""
from dataclasses import dataclass

from portal.extensions import db
from portal.services.quarters import current_quarter
from portal.services.rounds import open_round

from . import factories

ANSWERS = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8", "q_opinion": ""}


@dataclass
class RoundWorld:
    pm: object
    other_pm: object
    quality: object
    sales: object
    client: object
    contacts: list        # three contacts of the project's client: zh, en, zh
    opted_out: object     # a contact of the same client who opted out
    foreign: object       # a contact of another client
    project: object
    version: object

    def open(self, contacts=None, **kwargs):
        rnd = open_round(self.project, kwargs.pop("quarter", current_quarter()), self.version,
                         self.contacts if contacts is None else contacts, kwargs.pop("due_date", None),
                         self.pm, **kwargs)
        db.session.commit()
        return rnd


def build_world():
    pm = factories.user("pm_a", roles=("pm",), display_name="项目经理 张伟", locale="en")
    other_pm = factories.user("pm_b", roles=("pm",), locale="en")
    quality = factories.user("qa", roles=("quality",), locale="en")
    sales = factories.user("sales_a", roles=("sales",), locale="en")
    client = factories.client("甲方客户")
    contacts = [factories.contact(client, "王建国", email="wang@client.example.cn"),
                factories.contact(client, "Alice Smith", language="en", email="alice@client.example.cn"),
                factories.contact(client, "李晓红", function="noc_operator", email="li@client.example.cn")]
    opted_out = factories.contact(client, "赵丽华", opted_out=True)
    foreign = factories.contact(factories.client("其他客户"), "外人")
    project = factories.project(pm=pm, sales=sales, client_=client, name="数据中心运维服务", code="PRJ-001")
    version = factories.template_version()
    return RoundWorld(pm, other_pm, quality, sales, client, contacts, opted_out, foreign, project, version)


def text_values_in_database():
    """Every string stored in any text-like column of any table (to prove what is not at rest)."""
    from sqlalchemy import JSON, String, Text, select
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).all():
            found.extend(str(v) for v in row if v is not None)
    return found
