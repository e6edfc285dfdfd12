"""Tasks declared with django.tasks; run by the django-tasks-db worker."""

from __future__ import annotations

from django.tasks import task


@task()
def run_statements_close(job_id: int) -> None:
    # Imported here, not at the top: the close package enqueues this task (its start and
    # its recovery), as fees/tasks.py does for recalculation jobs.
    from partnerhub.statements.close.run import close_job_run

    close_job_run(job_id=job_id)
