"""Who signed a call: the ``userIdentity`` of a CloudTrail record.

AWS writes, in every record, the identity whose credentials signed the
request (the CloudTrail User Guide's "userIdentity element"):

``Root``         the account's own credentials: ``arn:aws:iam::<account>:root``,
                 the account id as ``principalId``;
``IAMUser``      an IAM user's access key: the user's ARN, id and name;
``AssumedRole``  temporary credentials from ``sts:AssumeRole``: the session's
                 ARN (``arn:aws:sts::<account>:assumed-role/<role>/<session>``),
                 ``<role id>:<session>`` as ``principalId``, and a
                 ``sessionContext`` naming the role that issued the session.

The sandbox's default credentials (the fake ``testing`` key every lab uses)
stand for the account itself, so a call made with them is recorded as the
``Root`` identity: the one principal that may do anything without a policy,
which is what those credentials can do here. A learner who creates an IAM
user with an access key, or assumes a role, and signs with those
credentials is recorded as that user or role session. The lookup reads
moto's IAM and STS backends (the users' keys and the sessions' temporary
keys); nothing else.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from labkit.core.aws import ACCOUNT_ID

__all__ = ["ROOT_USERNAME", "identity_of", "note_session", "reset", "username_of"]

#: What Event history shows as the user name of calls made by the account's root user.
ROOT_USERNAME = "root"

_LOCK = threading.Lock()
_CACHE: dict[str | None, dict[str, Any]] = {}
_ISSUED: dict[str, float] = {}  # temporary access key id -> when the sandbox clock issued it


def _root(access_key: str | None) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": "Root", "principalId": ACCOUNT_ID,
                                "arn": f"arn:aws:iam::{ACCOUNT_ID}:root", "accountId": ACCOUNT_ID}
    if access_key:
        identity["accessKeyId"] = access_key
    return identity


def _basic_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_moto(access_key: str) -> dict[str, Any] | None:
    """The identity of a key moto issued (a user's key or a session's), or None."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    iam = iam_backends[ACCOUNT_ID]["aws"]
    key = iam.access_keys.get(access_key)
    if key is not None and key.user_name:
        user = iam.users.get(key.user_name)
        if user is None:
            return None
        return {"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": ACCOUNT_ID,
                "accessKeyId": access_key, "userName": user.name}
    for session in sts_backends[ACCOUNT_ID]["aws"].assumed_roles:
        if session.access_key_id != access_key:
            continue
        role_name = session.role_arn.split("/")[-1]
        try:
            role_id = iam.get_role_by_arn(session.role_arn).id
        except Exception:  # noqa: BLE001  (moto lets a session outlive its role)
            role_id = session.user_id.split(":", 1)[0]
        issued = _ISSUED.get(access_key)
        created = _basic_date(issued) if issued is not None else \
            session.access_key.create_date.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session.session_name}",
            "arn": session.arn,
            "accountId": session.account_id,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": session.role_arn,
                                  "accountId": session.account_id, "userName": role_name},
                "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
            },
        }
    return None


def identity_of(access_key: str | None) -> dict[str, Any]:
    """The ``userIdentity`` element for a call signed with ``access_key``
    (a fresh dict each time; identities are cached per key)."""
    cached = _CACHE.get(access_key)
    if cached is None:
        found = None
        if access_key and not access_key.startswith(("testing", "AKIAIOSFODNN7EXAMPLE")):
            found = _from_moto(access_key)
        cached = found or _root(access_key)
        if found is not None or not access_key or access_key.startswith("testing"):
            with _LOCK:
                _CACHE[access_key] = cached  # an unknown key is looked up again: it may be issued later
    return _copy(cached)


def _copy(identity: dict[str, Any]) -> dict[str, Any]:
    out = dict(identity)
    if "sessionContext" in out:
        context = out["sessionContext"]
        out["sessionContext"] = {"sessionIssuer": dict(context["sessionIssuer"]),
                                 "attributes": dict(context["attributes"])}
    return out


def username_of(identity: dict[str, Any]) -> str:
    """The user name Event history shows for an identity: the IAM user's name,
    the role session's name, or ``root``."""
    kind = identity.get("type")
    if kind == "IAMUser":
        return str(identity.get("userName", ""))
    if kind == "AssumedRole":
        return str(identity.get("arn", "")).rsplit("/", 1)[-1]
    if kind == "Root":
        return ROOT_USERNAME
    return str(identity.get("userName") or identity.get("principalId") or "")


def note_session(access_key_id: str, issued: float) -> None:
    """Remember when the sandbox clock issued a session's temporary key (its
    ``sessionContext.attributes.creationDate``)."""
    with _LOCK:
        _ISSUED[access_key_id] = issued
        _CACHE.pop(access_key_id, None)


def reset() -> None:
    """Forget every identity seen (``lab.reset()``: moto forgets its keys too)."""
    with _LOCK:
        _CACHE.clear()
        _ISSUED.clear()
