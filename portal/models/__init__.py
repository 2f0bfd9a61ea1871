"""One module per aggregate; imported here so Alembic sees every table."""
from .audit import AuditEvent
from .client import CONTACT_FUNCTIONS, Client, Contact
from .project import PROJECT_STATUSES, Milestone, Project
from .questionnaire import (DIMENSIONS, QUESTION_TYPES, TEMPLATE_KINDS, Question, Scale,
                            ScaleOption, Template, TemplateVersion)
from .response import CHANNELS, VERIFICATION_STATUSES, Answer, Attachment, Response
from .survey_round import Invitation, OutboxMessage, SurveyRound
from .user import ROLES, WIDE_ROLES, User, UserRole

__all__ = [
    "AuditEvent", "CONTACT_FUNCTIONS", "Client", "Contact", "PROJECT_STATUSES", "Milestone",
    "Project", "DIMENSIONS", "QUESTION_TYPES", "TEMPLATE_KINDS", "Question", "Scale",
    "ScaleOption", "Template", "TemplateVersion", "CHANNELS", "VERIFICATION_STATUSES",
    "Answer", "Attachment", "Response", "Invitation", "OutboxMessage", "SurveyRound",
    "ROLES", "WIDE_ROLES", "User", "UserRole",
]
