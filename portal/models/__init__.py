"""One module per aggregate; imported here so Alembic sees every table."""
from .archive import ArchiveHandover, Disposal, LegalHold, Tombstone
from .archive_guard import install as _install_archive_guard
from .audit import AuditEvent
from .base import LANGUAGES
from .callback import ATTEMPT_OUTCOMES, TASK_KINDS, TASK_STATES, CallAttempt, CallbackDraw, CallbackTask
from .case import IMPORT_STATES, PRIORITIES, CaseImport, ImportMapping, ServiceCase
from .client import CONTACT_FUNCTIONS, Client, Contact
from .complaint import (COMPLAINT_CHANNELS, COMPLAINT_STATES, REMEDY_KINDS, SURVEY_MODES, Complaint,
                        ComplaintAttachment, ComplaintEvent, ComplaintSurvey)
from .department import Department, DepartmentMember
from .improvement import (CHECK_RESULTS, INTERNAL_CAUSES, PLAN_STATES, ROOT_CAUSES, ImprovementCheck,
                          ImprovementPlan, ImprovementPlanItem)
from .generation import DataGeneration
from .followup import CONTACT_MODES, FOLLOWUP_STATES, FollowUp, FollowUpEvent
from .job import JOB_STATES, Job
from .key_account import (DECISION_ACTIONS, DECISION_STATES, REPORT_LANGUAGES, TEAM_ROLES, KeyAccount,
                          KeyAccountDecision)
from .notification import Notification
from .project import PROJECT_STATUSES, Milestone, Project
from .questionnaire import (DIMENSIONS, QUESTION_TYPES, SCALE_STYLES, TEMPLATE_KINDS, Question,
                            Questionnaire, Scale, ScaleOption, Template, TemplateVersion)
from .rollup import (RECIPIENT_PURPOSES, HistoricalResult, HistoryImport, MeasurementPlan,
                     ReportRecipient, RollupRevision)
from .response import CHANNELS, VERIFICATION_STATUSES, Answer, Attachment, Response
from .sales_inquiry import INQUIRY_MODES, INQUIRY_TRIGGERS, InquiryContact, SalesInquiry
from .setting import Setting
from .survey_round import OUTBOX_KINDS, OUTBOX_STATUSES, Invitation, OutboxMessage, RoundVersion, SurveyRound
from .user import ROLES, WIDE_ROLES, User, UserRole

__all__ = [
    "ArchiveHandover", "Disposal", "LegalHold", "Tombstone", "AuditEvent", "CONTACT_FUNCTIONS", "Client", "Contact", "Notification", "PROJECT_STATUSES", "Milestone",
    "Project", "DIMENSIONS", "LANGUAGES", "QUESTION_TYPES", "SCALE_STYLES", "TEMPLATE_KINDS",
    "OUTBOX_KINDS", "OUTBOX_STATUSES", "Question", "Questionnaire", "Scale",
    "ScaleOption", "Template", "TemplateVersion", "CHANNELS", "VERIFICATION_STATUSES",
    "Answer", "Attachment", "Response", "Invitation", "OutboxMessage", "RoundVersion", "SurveyRound",
    "ROLES", "WIDE_ROLES", "User", "UserRole", "Setting", "DataGeneration",
    "CONTACT_MODES", "FOLLOWUP_STATES", "FollowUp", "FollowUpEvent",
    "INQUIRY_MODES", "INQUIRY_TRIGGERS", "InquiryContact", "SalesInquiry",
    "ATTEMPT_OUTCOMES", "TASK_STATES", "CallAttempt", "CallbackDraw", "CallbackTask",
    "IMPORT_STATES", "PRIORITIES", "CaseImport", "ImportMapping", "ServiceCase", "JOB_STATES", "Job",
    "COMPLAINT_CHANNELS", "COMPLAINT_STATES", "REMEDY_KINDS", "Complaint", "ComplaintAttachment", "ComplaintEvent",
    "SURVEY_MODES", "ComplaintSurvey", "Department", "DepartmentMember",
    "CHECK_RESULTS", "INTERNAL_CAUSES", "PLAN_STATES", "ROOT_CAUSES", "ImprovementCheck", "ImprovementPlan",
    "ImprovementPlanItem", "TASK_KINDS",
    "DECISION_ACTIONS", "DECISION_STATES", "REPORT_LANGUAGES", "TEAM_ROLES", "KeyAccount", "KeyAccountDecision",
    "RECIPIENT_PURPOSES", "HistoricalResult", "HistoryImport", "MeasurementPlan", "ReportRecipient",
    "RollupRevision",
]

from ..extensions import db as _db  # noqa: E402

_install_archive_guard(_db.metadata)  # the database's triggers on archived forms, with the tables
