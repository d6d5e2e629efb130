"""The evaluation logic: explicit deny, then an allow, else the implicit deny.

This follows AWS's documented logic for a request within one account
(IAM User Guide, "Policy evaluation logic"):

1. Every applicable policy is searched for a ``Deny`` statement that applies:
   identity-based policies, the resource-based policy, the permissions
   boundary and the session policy. One is enough: the request is denied
   (an *explicit deny*).
2. A resource-based policy that allows the request and names the caller's
   user ARN or role-session ARN allows it, whatever the boundary says.
3. Otherwise an identity-based policy (or a resource-based policy naming the
   caller's role or account) must allow it, *and* the permissions boundary, if
   any, must allow it, *and* the session policy, if any, must allow it.
4. Anything else is an *implicit deny*.

SCPs and RCPs (AWS Organizations) do not exist in the sandbox's lone account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import policy as pol

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True)
class Source:
    """One policy that applies to a request, with where it comes from."""

    kind: str  # "identity", "resource", "boundary", "session"
    policy_id: str  # a name or ARN, as simulation reports it
    text: str
    #: for identity policies: "IAM Policy" (inline) or "aws-managed" / "user-managed"
    simulation_type: str = "IAM Policy"


@dataclass(frozen=True)
class Match:
    """A statement that applied."""

    source: Source
    statement: pol.Statement
    position: tuple[tuple[int, int], tuple[int, int]]


@dataclass
class Decision:
    """The answer for one action on one resource."""

    action: str
    resource: str
    decision: str  # ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY
    reason: str  # the tail of AWS's message: "because no identity-based policy allows the ... action"
    matched: list[Match] = field(default_factory=list)
    missing_context: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED


_DENY_PLACE = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
}


def matching(source: Source, action: str, resource: str, context: Mapping[str, Any],
             principal: Mapping[str, Any] | None, effect: str | None) -> list[Match]:
    """The statements of ``source`` with this effect (None: either) that apply to the request."""
    parsed = pol.parse(source.text)
    found = []
    for statement, position in zip(parsed.statements, parsed.positions, strict=True):
        if effect is not None and statement.effect != effect:
            continue
        if pol.applies(statement, action, resource, context, principal):
            found.append(Match(source, statement, position))
    return found


def evaluate(action: str, resource: str, context: Mapping[str, Any], *,
             identity: Sequence[Source] = (), boundary: Source | None = None,
             session: Source | None = None, resource_policy: Source | None = None,
             principal: Mapping[str, Any] | None = None) -> Decision:
    """Decide one request.

    ``principal`` describes the caller for the resource-based policy:
    ``{"AWS": [its ARN(s), its role ARN, "arn:aws:iam::<account>:root"],
    "direct": [the ARNs that, named in a resource policy, are not limited by
    a boundary]}`` or ``{"Service": "sns.amazonaws.com"}``.
    """
    principal = principal or {}
    # One pass over every statement of every policy: those that apply, by effect.
    applies: dict[str, list[Match]] = {"identity": [], "resource": [], "boundary": [], "session": []}
    denies: list[Match] = []
    for source in (*identity, *(s for s in (boundary, session, resource_policy) if s is not None)):
        who = principal if source.kind == "resource" else None
        for match in matching(source, action, resource, context, who, None):
            (denies if match.statement.effect == "Deny" else applies[source.kind]).append(match)
    if denies:
        place = _DENY_PLACE[denies[0].source.kind]
        return Decision(action, resource, EXPLICIT_DENY, f"with an explicit deny in {place}", denies)

    resource_allows = applies["resource"]
    direct = set(principal.get("direct", ()))
    if any(_names_directly(m.statement, direct) for m in resource_allows):
        return Decision(action, resource, ALLOWED, "", resource_allows)
    identity_allows = applies["identity"]
    if not identity_allows and not resource_allows:
        return Decision(action, resource, IMPLICIT_DENY, f"because no identity-based policy allows the {action} action")
    allows = identity_allows + resource_allows
    for source, label in ((boundary, "permissions boundary"), (session, "session policy")):
        if source is None:
            continue
        limit = applies[source.kind]
        if not limit:
            return Decision(action, resource, IMPLICIT_DENY, f"because no {label} allows the {action} action", allows)
        allows = allows + limit
    return Decision(action, resource, ALLOWED, "", allows)


def _names_directly(statement: pol.Statement, direct: set[str]) -> bool:
    """Does the statement name the caller itself (or everyone), rather than its role or account?"""
    if not statement.principals or not direct:
        return False
    if "*" in statement.principals or "*" in statement.principals.get("AWS", ()):
        return True
    return any(name in direct for name in statement.principals.get("AWS", ()))
