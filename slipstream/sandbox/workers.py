"""The sandbox's worker threads: they play the event sources AWS would drive, calling the same handlers
as Lambda — SQS → dispatcher, Step Functions status changes → status handler, EventBridge Scheduler → schedule
handler."""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.handlers import dispatch_batch, status_changed

logger = logging.getLogger("slipstream.sandbox")


class _Worker(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:  # keep the worker alive, as Lambda would retry
                if self.stopping.is_set():
                    return  # the sandbox stopped under it (moto is gone): nothing to report
                logger.exception("%s failed a step", self.name)
                self.stopping.wait(0.5)

    def step(self) -> None:
        raise NotImplementedError


class DispatchWorker(_Worker):
    """SQS event source mapping: receive a batch, run the dispatcher, delete what succeeded.

    A batch's messages stay invisible while its handler runs, however long: their visibility is extended every
    `VISIBILITY_SECONDS / 3`, up to Lambda's 15-minute ceiling. On AWS the dispatch function's 60 s timeout sits
    well inside its queue's 120 s visibility; in the sandbox the same handler shares two cores with moto and the
    tasks, so a gather chunk of 1,000 map items can run for minutes, and a message that came back mid-run was
    handled twice by another worker (the work is idempotent, but it was done again from the start)."""

    VISIBILITY_SECONDS = 30
    LONGEST_SECONDS = 900

    def __init__(self, sqs: Any, queue_url: str, dispatcher: Any, name: str = "sandbox-dispatch") -> None:
        super().__init__(name)
        self.sqs = sqs
        self.queue_url = queue_url
        self.dispatcher = dispatcher

    def step(self) -> None:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                            VisibilityTimeout=self.VISIBILITY_SECONDS, AttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs", "eventSourceARN": "", "awsRegion": "us-east-1",
        } for m in messages]}
        handled = threading.Event()
        keeper = threading.Thread(target=self._keep_invisible, args=(messages, handled), daemon=True,
                                  name=f"{self.name}-visibility")
        keeper.start()
        try:
            result = dispatch_batch(event, self.dispatcher)
        except Exception:  # every record failed (powertools raises then, as a Lambda would): all come back
            logger.exception("a dispatch batch failed whole")
            result = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        finally:
            handled.set()
            keeper.join()
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages) if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
        if failed:  # let a failed message come back soon, not after the full visibility timeout
            for m in messages:
                if m["MessageId"] in failed:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                       VisibilityTimeout=1)

    def _keep_invisible(self, messages: list[dict[str, Any]], handled: threading.Event) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.VISIBILITY_SECONDS}
                   for i, m in enumerate(messages)]
        deadline = time.monotonic() + self.LONGEST_SECONDS
        while not handled.wait(self.VISIBILITY_SECONDS / 3) and time.monotonic() < deadline:
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:  # the sandbox is stopping, or moto is busy: the next extension may succeed
                logger.warning("could not extend the visibility of a dispatch batch", exc_info=True)


class StatusPoller(_Worker):
    """EventBridge's "Step Functions Execution Status Change" rule. Given `changes` (a queue that
    `moto_compat.watch_executions` fills with the ARNs of executions moto started or ended, as AWS would send
    them to EventBridge), it describes each change as it comes and hands it to the handler; every state
    machine's executions are then listed only every `sweep_seconds`, a safety net. Without `changes` it lists
    them every `interval` (a call per state machine each time, which grows with the workflows run)."""

    RETRY_SECONDS = 0.5

    def __init__(self, sfn: Any, status: Any, interval: float = 0.2, changes: queue.SimpleQueue[str] | None = None,
                 sweep_seconds: float = 5.0) -> None:
        super().__init__("sandbox-status")
        self.sfn = sfn
        self.status = status
        self.interval = interval
        self.changes = changes
        self.sweep_seconds = sweep_seconds
        self.seen: dict[str, str] = {}
        self._next_sweep = 0.0
        self._retry: set[str] = set()

    def stop(self) -> None:
        super().stop()
        if self.changes is not None:
            self.changes.put("")  # wakes the wait for the next change

    def step(self) -> None:
        if self.changes is None:
            self.sweep()
            self.stopping.wait(self.interval)
            return
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_seconds
            self.sweep()
        wait = max(0.0, self._next_sweep - time.monotonic())
        for arn in self._take_changes(min(wait, self.RETRY_SECONDS) if self._retry else wait):
            try:
                self.seen[arn] = self.status_event(arn)["detail"]["status"]
                self._retry.discard(arn)
            except Exception:  # as a failed invocation would be retried
                if self.stopping.is_set():
                    return
                logger.exception("the status change of %s failed; trying again", arn)
                self._retry.add(arn)

    def _take_changes(self, wait: float) -> set[str]:
        assert self.changes is not None
        arns = set(self._retry)
        try:
            arns.add(self.changes.get(timeout=wait))
            while True:
                arns.add(self.changes.get_nowait())
        except queue.Empty:
            pass
        arns.discard("")
        return arns if not self.stopping.is_set() else set()

    def sweep(self) -> None:
        """Every execution whose status differs from the one last handled."""
        for machine in self._machines():
            for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                for execution in page["executions"]:
                    arn, status = execution["executionArn"], execution["status"]
                    if self.seen.get(arn) == status:
                        continue
                    self.status_event(arn)
                    self.seen[arn] = status

    def _machines(self) -> list[str]:
        return [m["stateMachineArn"] for page in self.sfn.get_paginator("list_state_machines").paginate()
                for m in page["stateMachines"]]

    def status_event(self, execution_arn: str) -> dict[str, Any]:
        """Build the EventBridge event of an execution's current status and hand it to the handler."""
        described = self.sfn.describe_execution(executionArn=execution_arn)
        detail = {key: described.get(key) for key in ("executionArn", "stateMachineArn", "name", "status", "input",
                                                      "output", "error", "cause")}
        event = {"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                 "detail": json.loads(json.dumps(detail, default=str))}
        status_changed(event, self.status)
        return event


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SchedulerWorker(_Worker):
    """EventBridge Scheduler for the active scheduled launch plans: at each instant a plan's cron (croniter) or
    rate selects, hand the schedule handler the event Scheduler would send. Instants are those after the
    worker started: fires missed while the sandbox was stopped are not replayed (`tick` looks back only to the
    previous tick). Rates fire at whole multiples of their period since the epoch (every minute on the minute),
    where AWS counts from the schedule's creation. It wakes once a minute, just past the minute, so an idle
    sandbox makes one round of reads a minute. `clock` is injectable so tests control time."""

    def __init__(self, activation: Any, handler: Any, list_scopes: Callable[[], list[tuple[str, str]]],
                 clock: Callable[[], dt.datetime] = _utcnow, interval: float = 0.5) -> None:
        super().__init__("sandbox-scheduler")
        self.activation = activation
        self.handler = handler
        self.list_scopes = list_scopes
        self.clock = clock
        self.interval = interval
        self.last = clock()

    def step(self) -> None:
        self.tick()
        now = self.clock()  # every instant is a whole minute: sleep to just past the next one
        self.stopping.wait(max(self.interval, 60.2 - now.second - now.microsecond / 1e6))

    def tick(self) -> list[dict[str, Any]]:
        """Fire every instant in (previous tick, now]; returns the executions created."""
        now = self.clock()
        since, self.last = self.last, now
        created = []
        for project, domain in self.list_scopes():
            for plan in self.activation.list_active(project, domain):
                for instant in fire_times(plan.get("schedule"), since, now):
                    event = {"project": project, "domain": domain, "launch_plan": plan["name"],
                             "scheduled_time": instant.isoformat()}
                    execution = self.handler.fire(event)
                    if execution is not None and execution["created"]:
                        created.append(execution)
        return created


def fire_times(schedule: dict[str, Any] | None, since: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The instants in (since, until] a launch plan schedule selects, in UTC."""
    if not schedule:
        return []
    from chalicelib.schedules.expressions import croniter_expression

    expression = croniter_expression(schedule)
    if expression is None:
        period = int(schedule["rate_seconds"])
        first = (int(since.timestamp()) // period + 1) * period
        return [dt.datetime.fromtimestamp(t, dt.UTC) for t in range(first, int(until.timestamp()) + 1, period)]
    from croniter import croniter

    found: list[dt.datetime] = []
    it = croniter(expression, since.astimezone(dt.UTC))
    while (instant := it.get_next(dt.datetime)) <= until:
        found.append(instant)
    return found


def scheduler_worker(services: Any, clock: Callable[[], dt.datetime] = _utcnow) -> SchedulerWorker:
    """The scheduler worker of a sandbox's services, over the project-domains that hold a schedule: those named
    by the schedules in (moto's) EventBridge Scheduler, a few calls a tick however many projects exist (a round
    over every project-domain cost hundreds of queries a minute in a sandbox that had seen many projects)."""
    from chalicelib.schedules import ScheduleHandler, activation_for

    activation = activation_for(services)
    scheduler = activation.scheduler

    def scopes() -> list[tuple[str, str]]:
        found = set()
        for page in scheduler.get_paginator("list_schedules").paginate(NamePrefix=f"{activation.stack}-"):
            for summary in page["Schedules"]:
                try:
                    target = scheduler.get_schedule(Name=summary["Name"])["Target"]
                except scheduler.exceptions.ResourceNotFoundException:
                    continue  # deleted since it was listed
                fire = json.loads(target.get("Input") or "{}")
                if "project" in fire and "domain" in fire:
                    found.add((fire["project"], fire["domain"]))
        return sorted(found)

    return SchedulerWorker(activation, ScheduleHandler(activation, services.executions), scopes, clock=clock)
