"""Changing a project's window (its milestones must stay inside) and deleting a project."""

from __future__ import annotations

from supplytrack.calendars.schemas import CalendarUpdate
from supplytrack.calendars.service import CalendarService, CalendarView
from supplytrack.flows.base import Flow
from supplytrack.planning.repository import PlanningRepository
from supplytrack.planning.rules import check_window
from supplytrack.projects.exceptions import ProjectHasHistory
from supplytrack.projects.models import Project
from supplytrack.projects.schemas import ProjectUpdate
from supplytrack.projects.service import ProjectService
from supplytrack.suppliers.service import AssignmentService
from supplytrack.tasks.repository import OwnedBy
from supplytrack.tasks.service import TaskService
from supplytrack.templates.service import TemplateService


class ProjectFlows:
    """The project operations of one actor that reach beyond the projects table."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.projects = ProjectService(flow.session, flow.actor)

    def update(
        self, project_id: int, command: ProjectUpdate, expected_version: int | None
    ) -> Project:
        """Change the given fields; a new window must still hold every planned date."""
        project = self.projects.get(project_id, for_update=True)
        self.projects.check_version(project, expected_version)
        start, sop = self.projects.window_after(project, command)
        if (start, sop) != (project.start_date, project.sop_date):
            context = PlanningRepository(self.flow.session).context(project_id, self.flow.today)
            check_window(context, start, sop)
        self.projects.update(project, command)
        return project

    def delete(self, project_id: int, expected_version: int | None) -> None:
        """Delete a project on which no work has been recorded (409 otherwise: archive it)."""
        session, actor = self.flow.session, self.flow.actor
        project = self.projects.get(project_id, for_update=True)
        self.projects.check_version(project, expected_version)
        tasks = TaskService(session, actor)
        if tasks.work_recorded(OwnedBy(project_id=project_id)):
            raise ProjectHasHistory(project_id)
        tasks.delete_untouched(OwnedBy(project_id=project_id))
        TemplateService(session, actor).delete_of_project(project_id)
        AssignmentService(session, actor).delete_of_project(project_id)
        CalendarService(session, actor).delete_of_project(project_id)
        self.projects.delete(project)

    def calendar(self, project_id: int) -> CalendarView:
        """The calendar of a visible project."""
        self.projects.get(project_id)
        return CalendarService(self.flow.session, self.flow.actor).view(project_id)

    def replace_calendar(
        self, project_id: int, command: CalendarUpdate, expected_version: int | None
    ) -> CalendarView:
        """Replace a visible project's calendar (audited); working-day shifts follow it."""
        self.projects.get(project_id, for_update=True)
        return CalendarService(self.flow.session, self.flow.actor).replace(
            project_id, command, expected_version
        )
