"""The policy simulator: ``simulate_principal_policy`` and ``simulate_custom_policy``
answered by the same evaluator that enforces (moto does not implement them).
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.core.aws import ACCOUNT_ID

from . import principals
from .context import base_context
from .evaluate import Decision, Match, Source, evaluate
from .policy import MalformedPolicy, parse
from .resources import resource_policy as attached_resource_policy


def _context_entries(entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for entry in entries or []:
        values = entry.get("ContextKeyValues", [])
        kind = str(entry.get("ContextKeyType", "string"))
        context[entry["ContextKeyName"]] = values if kind.endswith("List") or len(values) != 1 else values[0]
    return context


def _statement(match: Match) -> dict[str, Any]:
    (start_line, start_col), (end_line, end_col) = match.position
    return {"SourcePolicyId": match.source.policy_id, "SourcePolicyType": match.source.simulation_type,
            "StartPosition": {"Line": start_line, "Column": start_col},
            "EndPosition": {"Line": end_line, "Column": end_col}}


def _result(decision: Decision, boundary: Source | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "EvalActionName": decision.action,
        "EvalResourceName": decision.resource,
        "EvalDecision": decision.decision,
        "MatchedStatements": [_statement(m) for m in decision.matched],
        "MissingContextValues": [],
    }
    if boundary is not None:
        result["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": "no permissions boundary" not in decision.reason
            and not any(m.source.kind == "boundary" and m.statement.effect == "Deny" for m in decision.matched)}
    return result


def _sources(texts: list[str] | None, kind: str, prefix: str) -> list[Source]:
    sources = []
    for n, text in enumerate(texts or [], start=1):
        parse(text)  # raises MalformedPolicy
        sources.append(Source(kind, f"{prefix}.{n}", text, "none" if kind == "identity" else "PermissionsBoundaryPolicy"))
    return sources


def simulate(identity: list[Source], actions: list[str], resources: list[str], context: dict[str, Any], *,
             boundary: Source | None = None, resource_policy: str | None = None,
             caller: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Evaluate every action on every resource; the simulator's ``EvaluationResults``."""
    results = []
    for action in actions:
        for resource in resources or ["*"]:
            if resource_policy is not None:
                policy = Source("resource", "ResourcePolicy", resource_policy, "resource")
            else:
                policy = attached_resource_policy(resource) if caller else None
            decision = evaluate(action, resource, context, identity=identity, boundary=boundary,
                                resource_policy=policy, principal=caller)
            results.append(_result(decision, boundary))
    return results


def _principal_sources(arn: str) -> tuple[list[Source], Source | None, dict[str, Any], dict[str, Any]] | None:
    backend = principals._iam()
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    if kind == "user" and name in backend.users:
        principal = principals._user(backend, backend.users[name])
        return principal.identity, principal.boundary, principal.context(), principal.as_resource_principal()
    if kind == "role":
        role = principals.find_role(arn)
        if role is not None:
            identity, boundary, tags = principals.role_sources(role)
            context = {"aws:PrincipalArn": arn, "aws:PrincipalAccount": ACCOUNT_ID, "aws:PrincipalType": "AssumedRole"}
            context.update({f"aws:PrincipalTag/{k}": v for k, v in tags.items()})
            return identity, boundary, context, {"AWS": [arn, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID]}
    if kind == "group":
        group = backend.groups.get(name)
        if group is not None:
            from .policy import as_text

            identity = [Source("identity", n, as_text(d), "group") for n, d in group.policies.items()]
            identity += [principals._managed_source("identity", p) for p in group.managed_policies.values()]
            return identity, None, {}, {"AWS": [f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID]}
    return None


def simulate_call(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    """Answer a SimulatePrincipalPolicy or SimulateCustomPolicy call."""
    p = call.params
    context = {**base_context(call.region), **_context_entries(p.get("ContextEntries"))}
    try:
        extra = _sources(p.get("PolicyInputList"), "identity", "PolicyInputList")
        boundaries = _sources(p.get("PermissionsBoundaryPolicyInputList"), "boundary",
                              "PermissionsBoundaryPolicyInputList")
        if p.get("ResourcePolicy"):
            parse(p["ResourcePolicy"])
    except MalformedPolicy as error:
        return hooks.error_answer("InvalidInput", f"A policy in the input is not valid: {error}", 400)
    caller = {"AWS": [p["CallerArn"]], "direct": [p["CallerArn"]]} if p.get("CallerArn") else None
    if call.operation == "SimulatePrincipalPolicy":
        source_arn = p["PolicySourceArn"]
        found = _principal_sources(source_arn)
        if found is None:
            return hooks.error_answer("NoSuchEntity", f"The principal {source_arn} cannot be found.", 404)
        identity, boundary, principal_context, who = found
        identity = identity + extra
        boundary = boundaries[0] if boundaries else boundary
        context = {**principal_context, **context}
        caller = caller or {**who, "direct": who["AWS"][:1]}
    else:
        identity, boundary = extra, (boundaries[0] if boundaries else None)
    results = simulate(identity, list(p["ActionNames"]), list(p.get("ResourceArns") or ["*"]), context,
                       boundary=boundary, resource_policy=p.get("ResourcePolicy"), caller=caller)
    return 200, {"EvaluationResults": results, "IsTruncated": False, "ResponseMetadata": {"HTTPStatusCode": 200}}


__all__ = ["simulate", "simulate_call"]
