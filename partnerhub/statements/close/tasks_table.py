"""The close job's rows in django-tasks-db's task table (enqueued by schedule.py)."""

from __future__ import annotations

from datetime import datetime

from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from partnerhub.statements.close.claim import stale_after
from partnerhub.statements.models import CloseJob


def task_lost(job: CloseJob) -> bool:
    """A queued job whose task can no longer start it (claimed by a dead worker, or gone)."""
    task = DBTaskResult.objects.filter(pk=job.task_id).first() if job.task_id else None
    if task is None or task.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        return True
    if task.status == TaskResultStatus.RUNNING:
        started: datetime = task.started_at or task.enqueued_at
        return started < timezone.now() - stale_after()
    return False


def task_retire(task_id: str, job_id: int) -> None:
    """Mark a dead worker's task failed, so the task table does not show it running forever."""
    if task_id:
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path="partnerhub.statements.close.WorkerLost",
            traceback=f"The worker running close job {job_id} stopped; the job was re-enqueued.",
        )
