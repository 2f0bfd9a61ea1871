"""The demo measurement plan (issue 13 §6): the quality department's 2026 plan in two versions,
the second raising the P3 callback rate after the first quarter. Saved through the real service;
idempotent by the year (a year that has a plan is left alone)."""
from ..services.measurement_plans import latest_plan, save_plan

YEAR = 2026

PLAN = {
    "purpose": "按季度测量客户对公司技术服务的满意度，找出服务短板并闭环改进；"
               "满意率作为项目经理和销售季度绩效考核的依据。",
    "scope": "公司在服务期内的全部运维、维保、集成与驻场项目的客户联系人；"
             "本季度关闭的全部服务工单的报修人；本年度登记的全部投诉的投诉人。",
    "frequencies": {
        "pm_quarterly": "每季度一次，每个在服务项目至少一轮",
        "sales_visit": "项目完工及关键里程碑时各一次",
        "callback": "每季度，按工单优先级抽样回访",
        "complaint_followup": "每件投诉结案后一次",
    },
    "owners": {
        "pm_quarterly": "项目经理（PMO 督办）",
        "sales_visit": "销售负责人",
        "callback": "质量部回访专员",
        "complaint_followup": "质量部",
    },
    "sampling_rates": {"P1": 0.8, "P2": 0.5, "P3": 0.2, "P4": 0.05},
}
#: version 2: after the first quarter's callbacks, P3 is sampled more
P3_RAISED = 0.3
NOTE = "一季度 P3 工单回访发现的问题较多，P3 抽样率由 20% 提高到 30%。"


def load_measurement_plan(actor):
    """The 2026 plan, versions 1 and 2, saved by ``actor`` (the quality desk) if 2026 has none."""
    if latest_plan(YEAR) is not None:
        return [f"{YEAR} measurement plan (0 new versions)"]
    save_plan(YEAR, PLAN, actor)
    save_plan(YEAR, {**PLAN, "sampling_rates": {**PLAN["sampling_rates"], "P3": P3_RAISED}, "note": NOTE}, actor)
    return [f"{YEAR} measurement plan (2 new versions)"]
