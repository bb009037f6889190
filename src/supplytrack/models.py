"""Every domain's models, imported once so that Alembic and the mappers see them all."""

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.auth.models import ApiToken
from supplytrack.core.models import Base
from supplytrack.jobs.models import Job
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier, SupplierCapability, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

__all__ = [
    "ApiToken",
    "Base",
    "Job",
    "Project",
    "Supplier",
    "SupplierCapability",
    "SupplierProject",
    "TaskInstance",
    "TaskInstanceHistory",
    "TaskTemplate",
    "TaskTemplateDependency",
]
