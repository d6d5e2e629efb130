"""Functions as moto stores them: what the runtime reads, and where it writes.

Everything a learner configures through boto3 (code, handler, memory, timeout,
environment, reserved concurrency, aliases with weights, asynchronous
settings) is stored by moto's Lambda backend. This module reads it from
there, and writes what an invocation produces back into moto: log events
into CloudWatch Logs, ``AWS/Lambda`` metrics into CloudWatch.
"""

from __future__ import annotations

import json
import random
from typing import Any

from labkit.core.aws import ACCOUNT_ID, parse_arn
from labkit.core.seams import SeamMoved

from .model import FunctionSpec

#: Attributes of moto's ``LambdaFunction`` objects that :func:`function_spec`
#: and the runtime read (instance attributes: the tests check them on a real function).
FUNCTION_ATTRIBUTES = (
    "function_name", "function_arn", "version", "region", "account_id", "handler", "run_time",
    "code_bytes", "code_sha_256", "timeout", "memory_size", "environment_vars", "role",
    "description", "layers", "ephemeral_storage", "reserved_concurrency", "event_invoke_config",
)


def lambda_backend(account_id: str, region: str) -> Any:
    """moto's Lambda backend of one account and region."""
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


def function_spec(fn: Any) -> FunctionSpec:
    """What the runtime needs to know about a moto ``LambdaFunction``."""
    try:
        other = json.dumps([fn.role, fn.description, fn.layers, fn.ephemeral_storage,
                            getattr(fn, "_vpc_config", None)], sort_keys=True, default=str)
        name = fn.function_name
        return FunctionSpec(
            name=name,
            arn=unqualified_arn(fn),
            version=str(fn.version),
            region=fn.region,
            account_id=fn.account_id,
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            code_sha256=fn.code_sha_256,
            timeout=float(fn.timeout),
            memory_mb=int(fn.memory_size),
            environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            other_config=other,
        )
    except AttributeError as error:
        raise SeamMoved(f"moto's LambdaFunction has changed: {error}") from error


def unqualified_arn(fn: Any) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>``, whatever version ``fn`` is."""
    arn = parse_arn(fn.function_arn)
    return f"arn:{arn.partition}:{arn.service}:{arn.region}:{arn.account}:function:{fn.function_name}"


def function_code(fn: Any) -> bytes:
    """The deployment package (zip bytes) of this version."""
    return fn.code_bytes  # type: ignore[no-any-return]


def _latest(fn: Any) -> Any:
    if str(fn.version) == "$LATEST":
        return fn
    return lambda_backend(fn.account_id, fn.region).get_function(fn.function_name)


def reserved_concurrency(fn: Any) -> int | None:
    """Reserved concurrency is set on the function, not on a version."""
    value = _latest(fn).reserved_concurrency
    return None if value is None or value == "" else int(value)


def event_invoke_config(fn: Any) -> dict[str, Any]:
    """The function's asynchronous invocation settings (``{}`` when none are set)."""
    configs = _latest(fn).event_invoke_config
    return dict(configs[-1].config) if configs else {}


# --------------------------------------------------------------------------
# Which function an invoke reaches
# --------------------------------------------------------------------------


def resolve_function(name_or_arn: str, qualifier: str | None = None,
                     region: str | None = None) -> tuple[Any, str, str | None]:
    """The moto function an invoke targets, the ARN it was invoked by, and the
    ``name:qualifier`` resource (None when unqualified).

    ``name_or_arn`` is a function name, ``name:qualifier``, or a (qualified)
    ARN, whose region and account win over ``region``. An alias with
    ``AdditionalVersionWeights`` sends that share of invocations to its other
    version. A missing function raises moto's ``ResourceNotFoundException``.
    """
    from labkit.core.sandbox import current_region

    account_id = ACCOUNT_ID
    if name_or_arn.startswith("arn:"):
        arn = parse_arn(name_or_arn)
        region, account_id = arn.region, arn.account
    return resolve_in(lambda_backend(account_id, region or current_region()), name_or_arn, qualifier)


def resolve_in(backend: Any, name_or_arn: str, qualifier: str | None) -> tuple[Any, str, str | None]:
    """:func:`resolve_function` in one moto backend (what moto's own callers hold)."""
    name = parse_arn(name_or_arn).resource_name if name_or_arn.startswith("arn:") else name_or_arn
    if ":" in name:
        name, qualifier = name.split(":", 1)
    fn = backend.get_function(name, qualifier)
    if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
        fn = _route_alias(backend, name, qualifier, fn)
    base = unqualified_arn(fn)
    invoked = f"{base}:{qualifier}" if qualifier else base
    return fn, invoked, (f"{fn.function_name}:{qualifier}" if qualifier else None)


def _route_alias(backend: Any, name: str, alias_name: str, fn: Any) -> Any:
    """An alias with ``AdditionalVersionWeights`` sends that share of
    invocations to the other version (weighted routing, as for canaries)."""
    alias = backend.get_alias(alias_name, name)
    weights = ((alias.routing_config or {}).get("AdditionalVersionWeights") or {}) if alias else {}
    draw = random.random()
    for version, weight in weights.items():
        draw -= float(weight)
        if draw < 0:
            return backend.get_function(name, str(version))
    return fn


# --------------------------------------------------------------------------
# What an invocation leaves behind: logs and metrics
# --------------------------------------------------------------------------


def write_log_events(spec: FunctionSpec, stream: str, events: list[tuple[int, str]]) -> None:
    """Append ``(epoch ms, message)`` events to the function's log stream."""
    from moto.logs.models import logs_backends

    logs = logs_backends[spec.account_id][spec.region]
    logs.ensure_log_group(spec.log_group)
    logs.ensure_log_stream(spec.log_group, stream)
    logs.put_log_events(spec.log_group, stream, [{"timestamp": t, "message": m} for t, m in events])


def put_metrics(spec: FunctionSpec, resource: str | None, values: dict[str, tuple[float, str]]) -> None:
    """Write ``AWS/Lambda`` metrics with the FunctionName dimension (and
    FunctionName + Resource when invoked through a qualifier)."""
    from moto.cloudwatch.models import cloudwatch_backends

    dimension_sets = [[{"Name": "FunctionName", "Value": spec.name}]]
    if resource:
        dimension_sets.append(dimension_sets[0] + [{"Name": "Resource", "Value": resource}])
    data = [{"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dims}
            for name, (value, unit) in values.items() for dims in dimension_sets]
    cloudwatch_backends[spec.account_id][spec.region].put_metric_data("AWS/Lambda", data)
