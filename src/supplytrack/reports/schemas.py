"""API shapes of reports."""

from __future__ import annotations

from datetime import date

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
