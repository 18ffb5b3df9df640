"""Launch plan activation and schedules: one active version per launch plan name, an EventBridge Scheduler
schedule per active scheduled plan, and the handler that turns a fire into an execution.

Why EventBridge Scheduler rather than EventBridge rules:

- quotas: rules are capped at 300 per event bus (raisable, but a shared ceiling for the whole account's
  automation); Scheduler allows 1,000,000 schedules per account and region. One schedule per active
  plan would eat the rules quota fast.
- the scheduled time: Scheduler substitutes `<aws.scheduler.scheduled-time>` into the target's input, so the
  handler is told the instant the fire was *for*, even when the delivery is late or retried. A rule's
  event carries `time`, close to but not defined as the scheduled minute.
- time zones (`ScheduleExpressionTimezone`), one-off `at(...)` and flexible windows are Scheduler's only;
  rules run cron in UTC. Plans are UTC today (the SDK documents it); the door stays open.
- cost: Scheduler bills per invocation ($1.00 per million after 14 million free a month); rules on the default
  bus bill nothing for scheduled events. At one fire a minute per plan that is ~44,000 invocations a month per
  plan: free-tier scale for any realistic count of plans.
- moto's server implements `scheduler` (create/update/get/delete/list) well enough for the adapter's tests;
  it never fires, so the sandbox fires from a worker thread (slipstream.sandbox.workers.SchedulerWorker).

A schedule targets the schedule handler Lambda directly (a Scheduler role may invoke it), with
`FlexibleTimeWindow OFF` and the retry policy's defaults; the handler reads the active version at fire time,
so moving activation to another version does not need to touch the schedule unless its expression changed.
"""

from chalicelib.schedules.activation import ActivationService, activation_for, schedule_name
from chalicelib.schedules.expressions import schedule_expression, to_aws_cron, to_aws_rate
from chalicelib.schedules.handler import ScheduleHandler, fire_execution_name

__all__ = ["ActivationService", "ScheduleHandler", "activation_for", "fire_execution_name", "schedule_expression",
           "schedule_name", "to_aws_cron", "to_aws_rate"]
