"""The default questionnaires, in Chinese and English, built on the policy's dimensions.

Seeding is idempotent: a template is recognised by (kind, language, name) and never
touched again once it exists, so the quality department's later edits are kept.
"""
from sqlalchemy import func, select

from ..extensions import db
from ..models import Template
from ..services.questionnaires import add_question, create_template
from ..services.scales import ensure_shipped_scales


def _q(code, text, scale=None, dimension=None, *, type=None, required=True, allow_na=False,
       choices=None):
    """One question; a question on the yes/no scale is a yes_no question."""
    type = type or ("yes_no" if scale == "yes_no" else "scale")
    return {"code": code, "text": text, "type": type, "scale": scale, "dimension": dimension,
            "required": required, "allow_na": allow_na, "choices": choices}


PM_QUARTERLY_ZH = {
    "kind": "pm_quarterly", "language": "zh",
    "name": "运维服务季度客户满意度调查表",
    "title": "运维服务季度客户满意度调查表",
    "intro": ("尊敬的客户：\n感谢贵单位一直以来对我公司的信任与支持。为持续改进服务质量，"
              "我们每季度开展一次客户满意度调查。请您根据本季度的实际感受逐项评价，"
              "您的意见是我们改进工作的重要依据。我们将对您填写的内容严格保密。"),
    "questions": [
        _q("attitude", "服务人员的服务态度（主动、热情、耐心、礼貌）", "sat5_a", "attitude"),
        _q("timeliness", "故障报修的响应及处理及时性", "sat5_a", "timeliness"),
        _q("technical", "驻场及技术支持工程师的技术能力和专业水平", "sat5_a", "technical"),
        _q("communication", "沟通协调情况（工作计划、进度通报、问题反馈是否及时清楚）", "sat5_a",
           "communication"),
        _q("resolution", "问题解决情况（问题是否得到彻底解决、是否反复出现）", "sat5_a", "resolution"),
        _q("documentation", "文档资料（巡检报告、运维记录、变更记录）的完整性和规范性", "sat5_a",
           "documentation", allow_na=True),
        _q("overall", "对本季度运维服务的总体评价", "sat5_a", "overall"),
        _q("opinion", "意见和建议（对我公司服务的意见、建议或需要改进之处）", type="text", required=False),
    ],
}

PM_QUARTERLY_EN = {
    "kind": "pm_quarterly", "language": "en",
    "name": "Quarterly O&M Service Customer Satisfaction Survey",
    "title": "Quarterly O&M Service Customer Satisfaction Survey",
    "intro": ("Dear customer,\nThank you for your continued trust in our services. To keep improving, "
              "we ask our customers every quarter how satisfied they are. Please rate each item "
              "from your experience this quarter; your answers guide our improvement work and "
              "are treated confidentially."),
    "questions": [
        _q("attitude", "Service attitude of our staff (proactive, friendly, patient, courteous)",
           "sat5_a", "attitude"),
        _q("timeliness", "Timeliness of response to and handling of reported faults", "sat5_a",
           "timeliness"),
        _q("technical", "Technical capability and professionalism of our on-site and support engineers",
           "sat5_a", "technical"),
        _q("communication", "Communication and coordination (plans, progress reports and feedback "
           "given clearly and on time)", "sat5_a", "communication"),
        _q("resolution", "Problem resolution (problems solved for good, not recurring)", "sat5_a",
           "resolution"),
        _q("documentation", "Completeness and quality of documentation (inspection reports, "
           "O&M logs, change records)", "sat5_a", "documentation", allow_na=True),
        _q("overall", "Overall rating of our O&M service this quarter", "sat5_a", "overall"),
        _q("opinion", "Opinions and suggestions (anything we should improve)", type="text",
           required=False),
    ],
}

SALES_VISIT_ZH = {
    "kind": "sales_visit", "language": "zh",
    "name": "项目客户满意度回访调查表",
    "title": "项目客户满意度回访调查表",
    "intro": ("尊敬的客户：\n感谢您对本项目的支持与配合。为了解您对项目实施及服务的评价，"
              "我公司客户经理特此回访，请您对以下各项作出评价，并提出宝贵意见。"),
    "questions": [
        _q("attitude", "项目团队的服务态度", "sat5_b", "attitude"),
        _q("timeliness", "项目实施进度及对贵方需求响应的及时性", "sat5_b", "timeliness"),
        _q("technical", "项目团队的技术方案水平和实施能力", "sat5_b", "technical"),
        _q("communication", "项目过程中的沟通协调", "sat5_b", "communication"),
        _q("resolution", "项目中出现问题的解决情况", "sat5_b", "resolution"),
        _q("documentation", "交付文档资料（竣工资料、操作手册、培训材料）的完整性", "sat5_b",
           "documentation", allow_na=True),
        _q("overall", "对本项目的总体满意程度", "sat5_b", "overall"),
        _q("cooperation", "今后是否愿意继续与我公司合作", type="choice", required=False,
           choices=["愿意", "视情况而定", "不愿意"]),
        _q("opinion", "意见和建议", type="text", required=False),
    ],
}

SALES_VISIT_EN = {
    "kind": "sales_visit", "language": "en",
    "name": "Project Customer Satisfaction Inquiry",
    "title": "Project Customer Satisfaction Inquiry",
    "intro": ("Dear customer,\nThank you for your support during this project. Our account manager "
              "would like to hear how you rate the project and our service; please rate each item "
              "and share any suggestions."),
    "questions": [
        _q("attitude", "Service attitude of the project team", "sat5_b", "attitude"),
        _q("timeliness", "Project progress and timeliness in responding to your requests", "sat5_b",
           "timeliness"),
        _q("technical", "Quality of the technical solution and the team's delivery capability",
           "sat5_b", "technical"),
        _q("communication", "Communication and coordination during the project", "sat5_b",
           "communication"),
        _q("resolution", "How problems that came up during the project were resolved", "sat5_b",
           "resolution"),
        _q("documentation", "Completeness of the delivered documentation (as-built records, "
           "manuals, training material)", "sat5_b", "documentation", allow_na=True),
        _q("overall", "Overall satisfaction with this project", "sat5_b", "overall"),
        _q("cooperation", "Would you work with us again?", type="choice", required=False,
           choices=["Yes", "Depends on the project", "No"]),
        _q("opinion", "Opinions and suggestions", type="text", required=False),
    ],
}

CALLBACK_ZH = {
    "kind": "callback", "language": "zh",
    "name": "服务工单电话回访记录表",
    "title": "服务工单电话回访记录表",
    "intro": ("您好，我是质量部回访专员。您前几天报修的问题已处理完毕，"
              "想占用您一两分钟了解您对本次服务的评价。"),
    "questions": [
        _q("resolved", "您反映的问题是否已解决？", "yes_no", "resolution"),
        _q("timeliness", "工程师响应及到场是否及时？", "sat5_a", "timeliness"),
        _q("attitude", "工程师的服务态度", "sat5_a", "attitude"),
        _q("technical", "工程师的技术水平", "sat5_a", "technical"),
        _q("communication", "处理过程中工程师是否及时告知处理进展？", "yes_no", "communication",
           allow_na=True),
        _q("documentation", "服务完成后是否提供了服务报告或处理记录？", "yes_no", "documentation",
           allow_na=True),
        _q("overall", "请您为本次服务打分（1–10分，10分为最满意）", "points10", "overall"),
        _q("opinion", "意见和建议", type="text", required=False),
    ],
}

CALLBACK_EN = {
    "kind": "callback", "language": "en",
    "name": "Service Ticket Callback Record",
    "title": "Service Ticket Callback Record",
    "intro": ("Hello, this is the quality department. The problem you reported a few days ago has "
              "been closed; may we take a minute to ask how you rate the service?"),
    "questions": [
        _q("resolved", "Has the problem you reported been solved?", "yes_no", "resolution"),
        _q("timeliness", "Did the engineer respond and arrive on time?", "sat5_a", "timeliness"),
        _q("attitude", "The engineer's service attitude", "sat5_a", "attitude"),
        _q("technical", "The engineer's technical skill", "sat5_a", "technical"),
        _q("communication", "Did the engineer keep you informed of progress?", "yes_no",
           "communication", allow_na=True),
        _q("documentation", "Did you receive a service report or record of the work?", "yes_no",
           "documentation", allow_na=True),
        _q("overall", "Your score for this service (1–10, 10 = fully satisfied)", "points10", "overall"),
        _q("opinion", "Opinions and suggestions", type="text", required=False),
    ],
}

COMPLAINT_FOLLOWUP_ZH = {
    "kind": "complaint_followup", "language": "zh",
    "name": "投诉处理满意度回访表",
    "title": "投诉处理满意度回访表",
    "intro": "您好！您反映的问题已处理完毕。请您对本次投诉的处理情况作出评价，帮助我们改进工作。",
    "questions": [
        _q("speed", "投诉处理的及时性", "sat5_a", "timeliness"),
        _q("effect", "问题的解决效果", "sat5_a", "resolution"),
        _q("attitude", "处理人员的服务态度", "sat5_a", "attitude"),
        _q("overall", "对本次投诉处理的总体满意程度", "sat5_a", "overall"),
        _q("opinion", "意见和建议", type="text", required=False),
    ],
}

COMPLAINT_FOLLOWUP_EN = {
    "kind": "complaint_followup", "language": "en",
    "name": "Complaint Handling Satisfaction Check",
    "title": "Complaint Handling Satisfaction Check",
    "intro": "Your complaint has been handled. Please tell us how satisfied you are with the way we handled it.",
    "questions": [
        _q("speed", "How quickly your complaint was handled", "sat5_a", "timeliness"),
        _q("effect", "How well the problem was solved", "sat5_a", "resolution"),
        _q("attitude", "The attitude of the staff who handled it", "sat5_a", "attitude"),
        _q("overall", "Overall satisfaction with the handling of your complaint", "sat5_a", "overall"),
        _q("opinion", "Opinions and suggestions", type="text", required=False),
    ],
}

DEFAULT_TEMPLATES = (PM_QUARTERLY_ZH, PM_QUARTERLY_EN, SALES_VISIT_ZH, SALES_VISIT_EN,
                     CALLBACK_ZH, CALLBACK_EN, COMPLAINT_FOLLOWUP_ZH, COMPLAINT_FOLLOWUP_EN)


def ensure_default_templates():
    """Create the default templates that are missing; return all six, in DEFAULT_TEMPLATES order."""
    ensure_shipped_scales()
    templates = []
    first_of_kind = {}  # the zh and en templates of a kind are language variants of one questionnaire
    for spec in DEFAULT_TEMPLATES:
        template = db.session.scalar(select(Template).where(
            Template.kind == spec["kind"], Template.language == spec["language"],
            func.lower(Template.name) == spec["name"].lower()))
        if template is None:
            sibling = first_of_kind.get(spec["kind"])
            if sibling is not None and any(t.language == spec["language"]
                                           for t in sibling.questionnaire.templates):
                sibling = None
            template = create_template(spec["kind"], spec["language"], spec["name"], spec["title"],
                                       spec["intro"], variant_of=sibling)
            version = template.versions[-1]
            for question in spec["questions"]:
                add_question(version, **question)
        first_of_kind.setdefault(spec["kind"], template)
        templates.append(template)
    db.session.flush()
    return templates
