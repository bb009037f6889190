"""API shapes of reports."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from supplytrack.core.schemas import ReadModel
from supplytrack.reports.scoring import SCORE_FORMULA


class SupplierPerformance(ReadModel):
    """One supplier's delivery record over the window."""

    supplier_id: int = Field(description="The supplier.")
    supplier_code: str = Field(description="Vendor number.")
    supplier_name: str = Field(description="Name.")
    tasks_due: int = Field(description="Tasks due in the window (WAIVED not counted).")
    submitted: int = Field(description="Of those, submitted at least once.")
    approved: int = Field(description="Of those, APPROVED (the completed tasks).")
    on_time_rate: float | None = Field(
        description="Submissions on or before actualDue (local day) / submissions."
    )
    first_pass_rate: float | None = Field(
        description="Approvals with no REJECTED in their history / approvals."
    )
    late_submissions: int = Field(description="Submissions after actualDue.")
    avg_days_late: float | None = Field(description="Mean days late of late submissions.")
    p90_days_late: int | None = Field(
        description="90th percentile (nearest rank) of days late of late submissions."
    )
    open_overdue: int = Field(description="Open tasks past due (removed assignments excluded).")
    days_overdue: int = Field(description="Sum of days overdue of those.")
    slips_by_reason: dict[str, int] = Field(
        description="Due dates moved later, counted per reason code (from history)."
    )
    rating: str = Field(description="RATED, or NOT_RATED below minCompleted approvals.")
    score: int | None = Field(description=f"0-100. {SCORE_FORMULA}")


class StatusCount(ReadModel):
    """Instances in one status."""

    status: str = Field(description="Status.")
    count: int = Field(description="Instances.")


class SupplierAtRisk(ReadModel):
    """A supplier behind on a project."""

    supplier_id: int = Field(description="The supplier.")
    supplier_code: str = Field(description="Vendor number.")
    overdue: int = Field(description="Open tasks past due.")
    max_days_overdue: int = Field(description="Days overdue of the most overdue task.")
    past_sop: int = Field(description="Open tasks due after the project's SOP.")


class MilestoneStatus(ReadModel):
    """One milestone across the project's suppliers."""

    task_template_id: int = Field(description="The milestone.")
    name: str = Field(description="Its name.")
    canonical_due: date = Field(description="Its planned date.")
    done: int = Field(description="Suppliers APPROVED or WAIVED.")
    open: int = Field(description="Suppliers still open.")
    late: int = Field(description="Suppliers past due and still in their hands.")


class ProjectStatus(ReadModel):
    """Where a project stands (active assignments only)."""

    project_id: int = Field(description="The project.")
    code: str = Field(description="Program code.")
    name: str = Field(description="Program name.")
    status: str = Field(description="Project status.")
    sop_date: date | None = Field(description="Start of production.")
    active_suppliers: int = Field(description="Suppliers actively assigned.")
    instances: int = Field(description="Task instances of active assignments.")
    by_status: list[StatusCount] = Field(description="Instances per status.")
    percent_complete: float = Field(description="APPROVED and WAIVED / all, in percent.")
    overdue: int = Field(description="Open tasks past due.")
    due_next_7_days: int = Field(description="Open tasks due today to 7 days ahead.")
    due_next_14_days: int = Field(description="Open tasks due today to 14 days ahead.")
    suppliers_at_risk: list[SupplierAtRisk] = Field(
        description="Most overdue first (up to 10), then past SOP."
    )
    milestones: list[MilestoneStatus] = Field(description="Per milestone, in plan order.")


# Compliance reports (reports/compliance.py) ---------------------------------------------


class ChangesByActor(ReadModel):
    """How many changes one actor made in one period."""

    period_start: date = Field(description="First day of the period (APP_TIMEZONE).")
    actor_id: int | None = Field(description="The token (null: the system).")
    actor: str = Field(description="How the audit trail names the actor.")
    instance_changes: int = Field(description="Task-instance history rows (one per field).")
    other_changes: int = Field(description="Audit-log rows (everything else; staff only).")
    changes: int = Field(description="Both together.")


class DueDateChange(ReadModel):
    """A due-date change without a reason, or one moving a date past its project's SOP."""

    id: int = Field(description="The history row.")
    flags: list[str] = Field(description="NO_REASON, PAST_SOP, or both.")
    task_instance_id: int = Field(description="The instance.")
    project_id: int = Field(description="Its project.")
    project_code: str = Field(description="Program code.")
    sop_date: date | None = Field(description="The project's start of production.")
    supplier_id: int = Field(description="Its supplier.")
    supplier_code: str = Field(description="Vendor number.")
    task_template_id: int = Field(description="Its milestone.")
    milestone: str = Field(description="The milestone's name.")
    old_due: date | None = Field(description="Due date before.")
    new_due: date | None = Field(description="Due date after.")
    changed_at: datetime = Field(description="When (UTC).")
    actor_id: int | None = Field(description="The token (null: the system).")
    actor: str = Field(description="Who.")
    source: str = Field(description="API, BULK, CASCADE, SYSTEM or IMPORT.")
    reason_code: str | None = Field(description="The reason code given, if any.")
    reason: str | None = Field(description="The reason text given, if any.")


class ApprovalsByApprover(ReadModel):
    """One approver's decisions over the window."""

    actor_id: int | None = Field(description="The token (null: the system).")
    actor: str = Field(description="Who.")
    approvals: int = Field(description="Status changes to APPROVED.")
    rejections: int = Field(description="Status changes to REJECTED.")
    first_at: datetime = Field(description="First decision (either) in the window.")
    last_at: datetime = Field(description="Last decision (either) in the window.")
    instances: int = Field(description="Distinct instances decided on.")


class ApprovedWithOpenPrerequisite(ReadModel):
    """An approval given while a prerequisite instance was not APPROVED or WAIVED."""

    approval_id: int = Field(description="The approval's history row.")
    approved_at: datetime = Field(description="When (UTC).")
    actor_id: int | None = Field(description="The approver's token (null: the system).")
    actor: str = Field(description="The approver.")
    source: str = Field(description="API, BULK, CASCADE, SYSTEM or IMPORT.")
    task_instance_id: int = Field(description="The approved instance.")
    project_id: int = Field(description="Its project.")
    supplier_id: int = Field(description="Its supplier.")
    supplier_code: str = Field(description="Vendor number.")
    milestone: str = Field(description="The approved instance's milestone.")
    prerequisite_id: int = Field(description="The prerequisite instance.")
    prerequisite_milestone: str = Field(description="Its milestone.")
    prerequisite_status: str = Field(description="Its status at the moment of the approval.")


class SupplierAccess(ReadModel):
    """One supplier's requests in one period (from the access log)."""

    period_start: date = Field(description="First day of the period (APP_TIMEZONE).")
    supplier_id: int = Field(description="The supplier.")
    supplier_code: str = Field(description="Vendor number.")
    supplier_name: str = Field(description="Name.")
    requests: int = Field(description="Requests of its tokens.")
    tokens: int = Field(description="Distinct tokens that made them.")
    refused: int = Field(description="Answered with a status of 400 or more.")
    first_at: datetime = Field(description="First request in the period (UTC).")
    last_at: datetime = Field(description="Last request in the period (UTC).")


class OverdueAging(ReadModel):
    """One supplier's open overdue instances by how many days overdue."""

    supplier_id: int = Field(description="The supplier.")
    supplier_code: str = Field(description="Vendor number.")
    supplier_name: str = Field(description="Name.")
    days_1_to_7: int = Field(description="1 to 7 days overdue.")
    days_8_to_30: int = Field(description="8 to 30 days overdue.")
    days_31_to_90: int = Field(description="31 to 90 days overdue.")
    days_over_90: int = Field(description="More than 90 days overdue.")
    total: int = Field(description="All open overdue instances.")
    oldest_days: int = Field(description="Days overdue of the most overdue one.")
    oldest_due: date = Field(description="Its due date.")
