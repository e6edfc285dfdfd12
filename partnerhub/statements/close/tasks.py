"""The close job's task, declared with django.tasks and run by the django-tasks-db worker.

Its path (`partnerhub.statements.close.tasks.run_statements_close`) is stored on every
queued task row. It lives in the close package, next to the run it calls, so the
package's imports run one way: schedule.py enqueues it, it calls run.py, and run.py
imports neither.
"""

from __future__ import annotations

from django.tasks import task

from partnerhub.statements.close.run import close_job_run


@task()
def run_statements_close(job_id: int) -> None:
    close_job_run(job_id=job_id)
