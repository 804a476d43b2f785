"""The `JobQueue` adapters: Celery (workers over a broker) and inline (run at once, in process).

The API sees only `ports.JobQueue`; Celery stays behind `CeleryQueue`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from timemachine.errors import BrokerUnavailableError, BrokerUnreachableError, TimeMachineError
from timemachine.logs import get_logger
from timemachine.ports import JobStatus

log = get_logger(__name__)
INSPECT_TIMEOUT = 1.0
BROKER_TIMEOUT = 2


def jsonable(value: Any) -> Any:
    """`value` when JSON can carry it, else its repr."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return repr(value)


class CeleryQueue:
    """Jobs are Celery tasks sent to the broker; job id = task id."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    @property
    def broker_url(self) -> str:
        return str(self.app.conf.broker_url)

    def enqueue(
        self,
        task: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
        retry: bool = False,
    ) -> str:
        """Send `task`; BrokerUnavailableError when the broker refused it. The job's id."""
        options: dict[str, Any] = {}
        if job_id is not None:
            options["task_id"] = job_id
        if retry:
            options["retry"] = True
            options["retry_policy"] = {
                "max_retries": 2,
                "interval_start": 0.2,
                "interval_step": 0.5,
            }
        try:
            result = self.app.send_task(task, args=list(args), kwargs=dict(kwargs or {}), **options)
        except OperationalError as exc:
            raise BrokerUnavailableError(f"could not queue {task}: {exc}") from exc
        return str(result.id)

    def status(self, job_id: str) -> JobStatus:
        try:
            result: AsyncResult[Any] = AsyncResult(job_id, app=self.app)
            ready = bool(result.ready())
            return JobStatus(
                state=str(result.state),
                ready=ready,
                result=jsonable(result.result) if ready else None,
            )
        except Exception as exc:
            raise BrokerUnreachableError(
                f"the result backend did not answer ({type(exc).__name__}: {exc})"
            ) from exc

    def revoke(self, job_id: str) -> None:
        try:
            self.ensure_reachable()
            self.app.control.revoke(job_id, terminate=True)
        except (BrokerUnreachableError, OSError) as exc:
            log.warning("revoke not delivered", task_id=job_id, error=str(exc))

    def ensure_reachable(self) -> None:
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(
                    max_retries=1, interval_start=0, interval_step=1, timeout=BROKER_TIMEOUT
                )
        except Exception as exc:
            raise BrokerUnreachableError(
                f"the task broker is unreachable ({type(exc).__name__}: {exc}); check "
                "CELERY_BROKER_URL and that the broker is up"
            ) from exc

    def _inspect(self, call: Callable[[Any], Any]) -> Any:
        self.ensure_reachable()
        try:
            return call(self.app.control.inspect(timeout=INSPECT_TIMEOUT))
        except Exception as exc:
            raise BrokerUnreachableError(
                f"could not ask the workers ({type(exc).__name__}: {exc})"
            ) from exc

    def active(self) -> dict[str, list[dict[str, Any]]]:
        return dict(self._inspect(lambda i: i.active()) or {})

    def workers(self) -> dict[str, Any]:
        return dict(self._inspect(lambda i: i.stats()) or {})

    def broadcast_note(self) -> str | None:
        if self.broker_url.startswith("sqla+"):
            return (
                "the embedded broker (no CELERY_BROKER_URL) carries no broadcast commands, so "
                "workers cannot be inspected; set CELERY_BROKER_URL to Redis or RabbitMQ"
            )
        return None


class InlineQueue:
    """Runs each job at once in the calling thread (tests, scripts, a single process)."""

    broker_url = "inline://"

    def __init__(self, tasks: Mapping[str, Callable[..., Any]]) -> None:
        self.tasks = dict(tasks)
        self.jobs: dict[str, JobStatus] = {}
        self._count = 0

    def enqueue(
        self,
        task: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
        retry: bool = False,
    ) -> str:
        if task not in self.tasks:
            raise BrokerUnavailableError(f"could not queue {task}: no such task")
        self._count += 1
        job = job_id or f"inline-{self._count}"
        try:
            value = self.tasks[task](*args, **dict(kwargs or {}))
        except TimeMachineError as error:
            self.jobs[job] = JobStatus(state="FAILURE", ready=True, result=str(error))
        else:
            self.jobs[job] = JobStatus(state="SUCCESS", ready=True, result=jsonable(value))
        return job

    def status(self, job_id: str) -> JobStatus:
        return self.jobs.get(job_id, JobStatus(state="PENDING", ready=False))

    def revoke(self, job_id: str) -> None:
        return None  # jobs run to the end as they are queued

    def ensure_reachable(self) -> None:
        return None

    def active(self) -> dict[str, list[dict[str, Any]]]:
        return {}

    def workers(self) -> dict[str, Any]:
        return {}

    def broadcast_note(self) -> str | None:
        return "jobs run inline, in the API process: there are no workers"
