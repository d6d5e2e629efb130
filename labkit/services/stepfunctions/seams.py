"""Where the Step Functions service reaches into moto.

moto's Step Functions *parser* backend (the one that interprets ASL, which
``labkit.start()`` turns on) names an execution started without a ``name``
``None``, so a second unnamed start failed with ``ExecutionAlreadyExists``.
AWS generates a UUID. One patched seam fixes that.

Activities (:mod:`.activities`): moto gives every execution an empty set of
activities, so an activity Task state failed at once; a seam on the
execution's constructor gives it labkit's, and a seam on the callback pool
records each scheduled activity task's callback (to mark it started when a
worker takes it with ``GetActivityTask``).

Importing ``moto.stepfunctions.parser`` pulls in ``moto.batch`` and so
``moto.ec2`` (about a second). Nothing here imports moto: the registry
resolves the seam when the Step Functions service is first used (its first
boto3 call, or ``lab.stepfunctions``), never at ``labkit.start()``.
"""

from __future__ import annotations

import uuid
from typing import Any

from labkit.core.seams import Seam
from labkit.services.stepfunctions.activities import add_activity_task, execution_init


def start_execution(original: Any, backend: Any, state_machine_arn: str, name: str | None = None,
                    *args: Any, **kwargs: Any) -> Any:
    """StartExecution without a name: AWS generates a UUID; moto's interpreter
    would name the execution ``None``, so a second unnamed start failed with
    ExecutionAlreadyExists."""
    return original(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)


SEAMS: tuple[Seam, ...] = (
    Seam("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution",
         ("self", "state_machine_arn", "name", "execution_input", "trace_header"), start_execution),
    Seam("moto.stepfunctions.parser.backend.execution", "Execution.__init__",
         ("self", "name", "sm_type", "role_arn", "exec_arn", "account_id", "region_name", "state_machine",
          "start_date", "cloud_watch_logging_session", "activity_store", "input_data", "trace_header"), execution_init),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackPoolManager.add_activity_task",
         ("self", "callback_id", "activity_arn", "activity_input"), add_activity_task),
    Seam("moto.stepfunctions.parser.backend.activity", "Activity.get_task", ("self",)),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "ActivityCallbackEndpoint.notify_activity_task_start",
         ("self", "worker_name")),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.notify_heartbeat", ("self",)),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.get_outcome", ("self",)),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.consumer_error", None, instance=True),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint._heartbeat_endpoint", None, instance=True),
    Seam("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.interrupt_all", ("self",)),
)
