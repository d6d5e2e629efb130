"""The instance metadata service (IMDSv2) at 169.254.169.254, for the app on each instance.

On AWS, code on an instance learns about the instance from a link-local
address that only that instance can reach. IMDSv2 asks for a session token
first::

    PUT /latest/api/token            X-aws-ec2-metadata-token-ttl-seconds: 21600
    GET /latest/meta-data/instance-id  X-aws-ec2-metadata-token: <token>

and the instance profile's role credentials are under
``/latest/meta-data/iam/security-credentials/<role-name>``.

**How the sandbox does it, in one process.** Every app runs in the
notebook's Python process, so there is one 169.254.169.254 for all of them.
The address is claimed (:func:`labkit.core.names.claim`) with a resolver
that asks *which instance's app is running in this thread*
(:func:`.apps.current_instance`, set while the app answers a request): it
answers with a virtual address bound to that instance's own metadata server.
So ``requests.put("http://169.254.169.254/latest/api/token", ...)`` made by
the app while it handles a request reaches its own instance's metadata. A
request from anywhere else (the notebook, a thread the app started itself) is
refused: nothing listens there, as on a laptop. :func:`handle` answers one
request in-process, for a test.

Tokens are per instance and expire on the sandbox clock. An instance whose
``HttpTokens`` is ``required`` answers ``401`` to a request without a valid
token; ``optional`` (moto's default) also answers IMDSv1 requests. Role
credentials come from :func:`labkit.services.iam.service_credentials`, issued
as ``ec2.amazonaws.com`` assumes the role, so the role's trust policy must
name EC2 and the credentials are checked against the role's policies.

Not emulated: the hop limit, IPv6 (``[fd00:ec2::254]``), instance tags in
metadata, ``X-Forwarded-For`` refusal, spot and events paths.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from labkit.core import aws, names
from labkit.core.clock import clock
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse
from labkit.services.ec2 import apps

ADDRESS = "169.254.169.254"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600  # six hours

_LOCK = threading.RLock()
_TOKENS: dict[str, tuple[str, float]] = {}  # token -> (instance id, expires at, sandbox epoch)
_FRONTS: dict[str, tuple[HttpFront, str]] = {}  # instance id -> (server, virtual address)
_CREDENTIALS: dict[tuple[str, str], dict[str, Any]] = {}


def resolve(host: str) -> list[str] | None:
    """The claim for 169.254.169.254: the metadata server of the instance whose app runs in this thread."""
    if host != ADDRESS:
        return None
    instance_id = apps.current_instance()
    if instance_id is None:
        return []  # nothing listens here for the notebook: a refused connection
    with _LOCK:
        found = _FRONTS.get(instance_id)
        if found is None or not found[0].running:
            front = HttpFront(lambda request: handle(instance_id, request), name=f"imds-{instance_id}")
            address = names.allocate_address(f"imds:{instance_id}")
            names.bind(address, 80, front.port)
            found = _FRONTS[instance_id] = (front, address)
    return [found[1]]


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/plain")], body.encode())


def handle(instance_id: str, request: HttpRequest) -> HttpResponse:
    """One metadata request for ``instance_id`` (in-process)."""
    instance = apps.moto_instance(instance_id, aws.default_region())
    if instance is None:
        return _text("Not Found", 404)
    if getattr(instance.metadata_options, "http_endpoint", "enabled") == "disabled":
        return _text("Forbidden", 403)
    path = request.path
    if path == "/latest/api/token":
        if request.method != "PUT":
            return _text("Method Not Allowed", 405)
        return _new_token(instance_id, request)
    if request.method not in ("GET", "HEAD"):
        return _text("Method Not Allowed", 405)
    token = request.header(TOKEN_HEADER)
    if token is not None or getattr(instance.metadata_options, "http_tokens", "optional") == "required":
        with _LOCK:
            owner = _TOKENS.get(token or "")
        if owner is None or owner[0] != instance_id or owner[1] <= clock.now():
            return _text("Unauthorized", 401)
    answer = answer_for(instance, path)
    if answer is None:
        return _text("Not Found", 404)
    if isinstance(answer, dict):
        return HttpResponse(200, [("Content-Type", "text/plain")], json.dumps(answer, indent=2).encode())
    return _text(answer)


def _new_token(instance_id: str, request: HttpRequest) -> HttpResponse:
    raw = request.header(TTL_HEADER)
    try:
        ttl = int(raw) if raw is not None else 0
    except ValueError:
        ttl = 0
    if not 1 <= ttl <= MAX_TTL:
        return _text("Bad Request", 400)
    token = secrets.token_urlsafe(40)
    with _LOCK:
        _TOKENS[token] = (instance_id, clock.now() + ttl)
    return HttpResponse(200, [("Content-Type", "text/plain"), (TTL_HEADER, str(ttl))], token.encode())


def _role_of(instance: Any) -> str | None:
    profile = getattr(instance, "iam_instance_profile", None) or {}
    arn = profile.get("Arn") if isinstance(profile, dict) else None
    if not arn:
        return None
    name = arn.rsplit("/", 1)[-1]
    from moto.iam.models import iam_backends

    try:
        found = iam_backends[instance.owner_id]["global"].get_instance_profile(name)
    except Exception:  # noqa: BLE001  (the profile was deleted)
        return None
    roles = list(getattr(found, "roles", []) or [])
    return roles[0].name if roles else None


def credentials(instance: Any, role: str) -> dict[str, Any]:
    """The role credentials metadata serves (renewed five minutes before they expire)."""
    from labkit.core import registry

    key = (instance.id, role)
    with _LOCK:
        cached = _CREDENTIALS.get(key)
    now = clock.now()
    if cached is not None and aws.epoch_of(cached["Expiration"]) - 300 > now:
        return cached
    iam = registry.ensure("iam")
    issued = iam.service_credentials(aws.make_arn("iam", f"role/{role}", region="", account=instance.owner_id),
                                     service="ec2.amazonaws.com", session_name=instance.id)
    document = {"Code": "Success", "LastUpdated": aws.iso_timestamp(now, millis=False), "Type": "AWS-HMAC",
                "AccessKeyId": issued["AccessKeyId"], "SecretAccessKey": issued["SecretAccessKey"],
                "Token": issued["SessionToken"],
                "Expiration": aws.iso_timestamp(issued["Expiration"].timestamp(), millis=False)}
    with _LOCK:
        _CREDENTIALS[key] = document
    return document


def answer_for(instance: Any, path: str) -> str | dict[str, Any] | None:
    """The metadata at ``path`` for a moto instance (text, a JSON document, or ``None``: not found)."""
    region = instance.region_name
    zone = instance.placement.zone or f"{region}a"
    role = _role_of(instance)
    items: dict[str, str] = {
        "ami-id": instance.image_id,
        "ami-launch-index": str(getattr(instance, "ami_launch_index", 0)),
        "hostname": f"ip-{instance.private_ip.replace('.', '-')}.ec2.internal",
        "instance-id": instance.id,
        "instance-type": instance.instance_type,
        "local-hostname": f"ip-{instance.private_ip.replace('.', '-')}.ec2.internal",
        "local-ipv4": instance.private_ip,
        "placement/availability-zone": zone,
        "placement/region": region,
        "security-groups": "\n".join(group.name for group in instance.security_groups),
    }
    if instance.public_ip:
        items["public-ipv4"] = instance.public_ip
    if path in ("/latest/meta-data", "/latest/meta-data/"):
        tops = sorted({key.split("/")[0] + ("/" if "/" in key else "") for key in items} | ({"iam/"} if role else set()))
        return "\n".join(tops)
    if path == "/latest/user-data":
        return apps.user_data_text(instance) or None
    if path == "/latest/dynamic/instance-identity/document":
        return {"accountId": instance.owner_id, "architecture": instance.architecture, "availabilityZone": zone,
                "imageId": instance.image_id, "instanceId": instance.id, "instanceType": instance.instance_type,
                "privateIp": instance.private_ip, "region": region, "version": "2017-09-30"}
    prefix = "/latest/meta-data/"
    if not path.startswith(prefix):
        return None
    key = path[len(prefix):].rstrip("/")
    if key in items:
        return items[key]
    if key == "placement":
        return "availability-zone\nregion"
    if role is None or not key.startswith("iam"):
        return None
    if key == "iam":
        return "info\nsecurity-credentials/"
    if key == "iam/info":
        return {"Code": "Success", "LastUpdated": aws.iso_timestamp(clock.now(), millis=False),
                "InstanceProfileArn": instance.iam_instance_profile.get("Arn"), "InstanceProfileId": "AIPA" + instance.id[2:]}
    if key == "iam/security-credentials":
        return role
    if key == f"iam/security-credentials/{role}":
        return credentials(instance, role)
    return None


def forget(instance_id: str) -> None:
    """An instance shut down: its metadata server stops, its tokens end."""
    with _LOCK:
        found = _FRONTS.pop(instance_id, None)
        for token in [t for t, (owner, _) in _TOKENS.items() if owner == instance_id]:
            del _TOKENS[token]
    if found is not None:
        names.unbind(found[1])
        found[0].stop()


def reset() -> None:
    with _LOCK:
        fronts = list(_FRONTS.values())
        _FRONTS.clear()
        _TOKENS.clear()
        _CREDENTIALS.clear()
    for front, address in fronts:
        names.unbind(address)
        front.stop()
