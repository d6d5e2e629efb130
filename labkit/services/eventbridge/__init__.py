"""EventBridge: targets that get what AWS sends them, AWS service events, schedules, replays.

moto stores rules and targets and matches patterns well. This service makes
delivery behave as on AWS and stands in for what only AWS can do
(``lab.eventbridge.<helper>``):

- **Delivery** (:mod:`.targets`): disabled and schedule-only rules receive no
  events; SQS, CloudWatch Logs, Lambda (through
  :func:`labkit.services.lambda_.invoke_async`) and SNS targets get the
  payload their ``Input``, ``InputPath`` or ``InputTransformer`` builds
  (:func:`target_payload`, :mod:`.payloads`), if the target's resource policy
  (queue policy, topic policy, ``add_permission``) lets
  ``events.amazonaws.com`` in from the rule; a Step Functions state machine is
  started with that payload as its input by the target's role (assumed as
  ``events.amazonaws.com``, the call signed with its session); a refused or
  missing target's event goes to its dead-letter queue; replays keep to their
  window and the rules they name.
- **The API** (:mod:`.api`): ``PutEvents`` refuses ``aws.*`` sources and
  ``PutTargets`` a state machine target without a ``RoleArn``, as AWS does;
  ``TestEventPattern`` answers (:func:`pattern_matches`).
- **Standing in for AWS** (:mod:`.service_events`): :func:`emit_aws_event`
  with :func:`ec2_state_change` and :func:`cloudtrail_api_call` put service
  events on the default bus; :func:`fire_schedule` fires a scheduled rule now.
- **Schedules** (:mod:`.schedules`): ``rate(...)`` and ``cron(...)`` rules fire
  as the sandbox clock passes their times; :func:`next_fire_time` says when.

Time: event times, scheduled events and replays follow the sandbox clock
(``lab.clock``). Delivery is synchronous: a cell that puts an event finds it
in the target's queue or log group when the call returns.
"""

from __future__ import annotations

from . import schedules as _schedules
from .payloads import (
    MISSING,
    aws_event,
    json_path,
    pattern_matches,
    render_template,
    target_payload,
)
from .schedules import next_fire_time
from .seams import SEAMS
from .service_events import (
    cloudtrail_api_call,
    ec2_state_change,
    emit_aws_event,
    fire_schedule,
)
from .targets import fire_scheduled_rule, put_service_event

__all__ = [
    "MISSING",
    "SEAMS",
    "aws_event",
    "cloudtrail_api_call",
    "ec2_state_change",
    "emit_aws_event",
    "fire_schedule",
    "fire_scheduled_rule",
    "install",
    "json_path",
    "next_fire_time",
    "pattern_matches",
    "put_service_event",
    "render_template",
    "reset",
    "target_payload",
]


def install() -> None:
    """Put scheduled rules on the sandbox clock (the seams are patched by the registry)."""
    _schedules.subscribe()


def reset() -> None:
    """Forget the armed schedules; rules, targets, archives and replays are moto's,
    and moto's reset removes them. The seams stay in place."""
    _schedules.reset()
