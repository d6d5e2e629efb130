"""Who signs a request: the access key of a call, resolved to a principal.

The sandbox's own credentials (``labkit.start()`` sets the access key
``testing``) belong to the account's administrator and are never checked.
Keys that moto's IAM issued (``create_access_key`` for a user, ``assume_role``
for a role session) belong to that user or session: their policies decide.
A key that was issued and then deleted or made inactive, or a session whose
time is up on the sandbox clock, is refused as AWS refuses it. Any other key
(one the learner made up) is treated as the administrator's, as moto does.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from labkit.core.aws import ACCOUNT_ID

from .evaluate import Source

#: The access key of the sandbox's own credentials (labkit.core.sandbox.FAKE_CREDENTIALS).
DEFAULT_ACCESS_KEY = "testing"
#: What moto's GetCallerIdentity answers for credentials it did not issue: the sandbox's administrator.
DEFAULT_PRINCIPAL_ARN = f"arn:aws:sts::{ACCOUNT_ID}:user/moto"

_LOCK = threading.Lock()
_ISSUED: set[str] = set()  # user access keys ever issued (a deleted one is refused, not an administrator)
_USER_BOUNDARIES: dict[str, str] = {}  # user name -> boundary policy ARN (moto does not keep them)
_SESSION_ENDS: dict[str, float] = {}  # temporary access key -> when it expires, on the sandbox clock
#: Resolved principals by access key, valid while no IAM or STS call has changed anything.
_RESOLVED: dict[str, tuple[int, Principal | None]] = {}
_GENERATION = [0]


@dataclass
class Principal:
    """A user or a role session, with every policy that speaks for it."""

    kind: str  # "user" or "assumed-role"
    arn: str  # arn:aws:iam::<acct>:user/<name> or arn:aws:sts::<acct>:assumed-role/<role>/<session>
    name: str  # the user's or the role's name
    user_id: str
    account: str = ACCOUNT_ID
    role_arn: str | None = None
    session_name: str | None = None
    identity: list[Source] = field(default_factory=list)
    boundary: Source | None = None
    session: Source | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def uses_leading_keys(self) -> bool:
        """Does any of its policies test ``dynamodb:LeadingKeys`` (worth reading a table's key schema)?"""
        sources = [*self.identity, *(s for s in (self.boundary, self.session) if s is not None)]
        return any("dynamodb:leadingkeys" in s.text.lower() for s in sources)

    @property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: the user's ARN, or the role's (not the session's)."""
        return self.role_arn or self.arn

    def as_resource_principal(self) -> dict[str, Any]:
        """How a resource-based policy's ``Principal`` can name this caller."""
        names = [self.arn, self.principal_arn, f"arn:aws:iam::{self.account}:root", self.account]
        return {"AWS": names, "direct": [self.arn]}

    def context(self) -> dict[str, Any]:
        """The condition keys this principal brings to every request."""
        keys: dict[str, Any] = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "User" if self.kind == "user" else "AssumedRole",
            "aws:userid": self.user_id,
        }
        if self.kind == "user":
            keys["aws:username"] = self.name
        for key, value in self.tags.items():
            keys[f"aws:PrincipalTag/{key}"] = value
        return keys


class Refused(Exception):
    """Credentials AWS would not accept: unknown once issued, inactive, or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid" or "expired"


def _iam() -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT_ID]["aws"]


def _sts() -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[ACCOUNT_ID]["aws"]


def changed() -> None:
    """Something in IAM changed (a policy, a key, a role): resolve principals again."""
    with _LOCK:
        _GENERATION[0] += 1
        _RESOLVED.clear()


def remember_issued(access_key_id: str) -> None:
    with _LOCK:
        _ISSUED.add(access_key_id)


def session_issued(access_key_id: str, duration_seconds: float) -> float:
    """A role session was issued now (sandbox clock); returns when it ends."""
    ends = _now() + float(duration_seconds)
    with _LOCK:
        _SESSION_ENDS[access_key_id] = ends
    return ends


def set_user_boundary(user_name: str, policy_arn: str | None) -> None:
    with _LOCK:
        if policy_arn:
            _USER_BOUNDARIES[user_name] = policy_arn
        else:
            _USER_BOUNDARIES.pop(user_name, None)


def user_boundary(user_name: str) -> str | None:
    return _USER_BOUNDARIES.get(user_name)


def forget() -> None:
    with _LOCK:
        _ISSUED.clear()
        _USER_BOUNDARIES.clear()
        _SESSION_ENDS.clear()
        _RESOLVED.clear()
        _GENERATION[0] += 1


def managed_text(policy: Any) -> str:
    """The default version's document of a moto managed policy."""
    from .policy import as_text

    for version in policy.versions:
        if version.is_default:
            return as_text(version.document)
    return '{"Statement": []}'


def _managed_source(kind: str, policy: Any) -> Source:
    owner = "aws-managed" if ":aws:policy/" in policy.arn else "user-managed"
    return Source(kind, policy.arn, managed_text(policy), owner)


def boundary_source(arn: str | None) -> Source | None:
    if not arn:
        return None
    from . import managed

    managed.ensure_loaded(arn)
    policy = _iam().managed_policies.get(arn)
    if policy is None:  # a boundary that names no policy allows nothing
        return Source("boundary", arn, '{"Statement": []}', "PermissionsBoundaryPolicy")
    return Source("boundary", arn, managed_text(policy), "PermissionsBoundaryPolicy")


def _user(backend: Any, user: Any) -> Principal:
    from .policy import as_text

    identity = [Source("identity", name, as_text(doc), "user") for name, doc in user.policies.items()]
    identity += [_managed_source("identity", p) for p in user.managed_policies.values()]
    for group in backend.get_groups_for_user(user.name):
        identity += [Source("identity", name, as_text(doc), "group") for name, doc in group.policies.items()]
        identity += [_managed_source("identity", p) for p in group.managed_policies.values()]
    tags = {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(user.arn).get("Tags", [])}
    return Principal("user", user.arn, user.name, user.id, identity=identity,
                     boundary=boundary_source(_USER_BOUNDARIES.get(user.name)), tags=tags)


def role_sources(role: Any) -> tuple[list[Source], Source | None, dict[str, str]]:
    """A role's identity-based policies, boundary and tags."""
    from .policy import as_text

    identity = [Source("identity", name, as_text(doc), "role") for name, doc in role.policies.items()]
    identity += [_managed_source("identity", p) for p in role.managed_policies.values()]
    tags = {t["Key"]: t["Value"] for t in (role.tags or [])}
    return identity, boundary_source(role.permissions_boundary_arn), tags


def _session(backend: Any, session: Any) -> Principal:
    from .policy import as_text

    ends = _SESSION_ENDS.get(session.access_key_id)
    if ends is None:  # issued by moto without passing through boto3: its own expiry, in real time
        ends = session.expiration.replace(tzinfo=timezone.utc).timestamp()
    if ends <= _now():
        raise Refused("expired")
    role_name = session.role_arn.split("/")[-1]
    role = find_role(session.role_arn)
    if role is None:  # the role was deleted: its sessions can do nothing
        identity, boundary, tags, role_id = [], None, {}, "AROA"
    else:
        identity, boundary, tags = role_sources(role)
        role_id = role.id
    session_source = Source("session", "session", as_text(session.policy), "IAM Policy") if session.policy else None
    return Principal("assumed-role", session.arn, role_name, f"{role_id}:{session.session_name}",
                     role_arn=session.role_arn, session_name=session.session_name, identity=identity,
                     boundary=boundary, session=session_source, tags=tags)


def find_role(role_arn: str) -> Any:
    """moto's role with this ARN, or None."""
    return next((r for r in _iam().roles.values() if r.arn == role_arn), None)


def _now() -> float:
    from labkit.core.clock import clock

    return clock.now()


def resolve(access_key: str | None) -> Principal | None:
    """The principal an access key belongs to; ``None`` for the administrator.

    Raises :class:`Refused` for a key AWS would not accept. The answer is
    kept until the next call that changes IAM (see :func:`changed`); a
    session's expiry is checked every time."""
    if not access_key or access_key == DEFAULT_ACCESS_KEY:
        return None
    cached = _RESOLVED.get(access_key)
    if cached is not None and cached[0] == _GENERATION[0]:
        principal = cached[1]
        ends = _SESSION_ENDS.get(access_key)
        if principal is not None and ends is not None and ends <= _now():
            raise Refused("expired")
        return principal
    generation = _GENERATION[0]
    principal = _resolve(access_key)
    _RESOLVED[access_key] = (generation, principal)
    return principal


def _resolve(access_key: str) -> Principal | None:
    backend = _iam()
    key = backend.access_keys.get(access_key)
    if key is None:
        if access_key in _ISSUED:
            raise Refused("invalid")
        return None
    if key.user_name is not None:
        if key.status != "Active":
            raise Refused("invalid")
        user = backend.users.get(key.user_name)
        if user is None:
            raise Refused("invalid")
        return _user(backend, user)
    session = _sts().get_assumed_role_from_access_key(access_key)
    if session is None:
        return None
    return _session(backend, session)
