"""Where the Step Functions service reaches into moto.

moto's Step Functions *parser* backend (the one that interprets ASL, which
``labkit.start()`` turns on) names an execution started without a ``name``
``None``, so a second unnamed start failed with ``ExecutionAlreadyExists``.
AWS generates a UUID. One patched seam fixes that.

Importing ``moto.stepfunctions.parser`` pulls in ``moto.batch`` and so
``moto.ec2`` (about a second). Nothing here imports moto: the registry
resolves the seam when the Step Functions service is first used (its first
boto3 call, or ``lab.stepfunctions``), never at ``labkit.start()``.
"""

from __future__ import annotations

import uuid
from typing import Any

from labkit.core.seams import Seam


def start_execution(original: Any, backend: Any, state_machine_arn: str, name: str | None = None,
                    *args: Any, **kwargs: Any) -> Any:
    """StartExecution without a name: AWS generates a UUID; moto's interpreter
    would name the execution ``None``, so a second unnamed start failed with
    ExecutionAlreadyExists."""
    return original(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)


SEAMS: tuple[Seam, ...] = (
    Seam("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution",
         ("self", "state_machine_arn", "name", "execution_input", "trace_header"), start_execution),
)
