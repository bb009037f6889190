"""Every domain's models, imported once so that Alembic and the mappers see them all."""

from supplytrack.audit.chain_models import AuditCheckpoint
from supplytrack.audit.models import AuditLog, TaskInstanceHistory
from supplytrack.audit.retention_models import HistoryTombstone, LegalHold, RetentionRun
from supplytrack.auth.models import ApiToken
from supplytrack.bulk.models import BulkOperation, IdempotencyKey
from supplytrack.calendars.models import ProjectCalendar, ProjectHoliday
from supplytrack.core.models import Base
from supplytrack.jobs.models import Job
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier, SupplierCapability, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditLog",
    "Base",
    "BulkOperation",
    "HistoryTombstone",
    "IdempotencyKey",
    "Job",
    "LegalHold",
    "Project",
    "ProjectCalendar",
    "ProjectHoliday",
    "RetentionRun",
    "Supplier",
    "SupplierCapability",
    "SupplierProject",
    "TaskInstance",
    "TaskInstanceHistory",
    "TaskTemplate",
    "TaskTemplateDependency",
]
