"""Web apps that EC2 instances serve: a WSGI callable behind an instance's addresses.

On AWS an instance runs whatever its AMI and user data start; a web shop's
instance runs a web server on port 80. In the sandbox no machine boots, so a
lab hands the instance its app directly::

    lab.ec2.serve(instance_id, app)          # app: any WSGI callable (Flask, Django, a function)

While the instance is ``running``, the app is served by an
:class:`~labkit.core.httpfront.HttpFront` on 127.0.0.1, and the instance's
private IP address (and public one, if it has one) on the app's port is bound
to it (:func:`labkit.core.names.bind`), so ``requests.get(f"http://{private_ip}/")``
reaches the app, as a client inside the VPC would. ``StopInstances`` and
``TerminateInstances`` stop the server; ``StartInstances`` and
``RebootInstances`` start it again (a reboot is a restart). An instance's
addresses always belong to the sandbox: a connection to one whose app is not
running is refused, it never leaves the machine.

The app keeps running across stops (its Python objects live on): what a stop
loses on AWS (memory, an instance store) is not modelled.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from labkit.core import aws, names
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class ServedApp:
    """One instance's app and, while the instance runs, its server."""

    instance_id: str
    region: str
    app: WsgiApp
    port: int
    front: HttpFront | None = None
    addresses: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)  # tracebacks of requests the app failed

    @property
    def running(self) -> bool:
        return self.front is not None and self.front.running


_LOCK = threading.RLock()
_APPS: dict[str, ServedApp] = {}


# --------------------------------------------------------------------------
# WSGI, over the core's HTTP front
# --------------------------------------------------------------------------


def wsgi_environ(request: HttpRequest, server_name: str, server_port: int) -> dict[str, Any]:
    """The WSGI environment (PEP 3333) of one request."""
    from urllib.parse import unquote

    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(request.path, encoding="latin-1"),
        "QUERY_STRING": request.query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request.client[0],
        "REMOTE_PORT": str(request.client[1]),
        "CONTENT_LENGTH": str(len(request.body)) if request.body else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for key, value in request.headers:
        name = key.upper().replace("-", "_")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif name == "CONTENT_LENGTH":
            continue
        else:
            variable = "HTTP_" + name
            environ[variable] = f"{environ[variable]},{value}" if variable in environ else value
    return environ


def wsgi_handler(served: ServedApp) -> Callable[[HttpRequest], HttpResponse]:
    """An :class:`HttpFront` handler that runs ``served.app`` for each request."""

    def handle(request: HttpRequest) -> HttpResponse:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        environ = wsgi_environ(request, served.addresses[0] if served.addresses else "localhost", served.port)
        try:
            result = served.app(environ, start_response)
            try:
                for chunk in result:
                    chunks.append(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as error:  # noqa: BLE001  (the app's bug is a 500, as a real server answers)
            import traceback

            served.errors.append("".join(traceback.format_exception(error)))
            return HttpResponse.text(500, "500 Internal Server Error\n")
        if not started:
            served.errors.append("the app returned without calling start_response")
            return HttpResponse.text(500, "500 Internal Server Error\n")
        status, headers = started
        return HttpResponse(int(str(status).split()[0]), list(headers), b"".join(chunks))

    return handle


# --------------------------------------------------------------------------
# Reading moto's instances
# --------------------------------------------------------------------------


def moto_instance(instance_id: str, region: str) -> Any:
    """moto's instance object, or ``None``."""
    from moto.ec2.models import ec2_backends

    from labkit.core import sandbox

    account = sandbox.current().account_id if sandbox.running() else aws.ACCOUNT_ID
    try:
        return ec2_backends[account][region].get_instance_by_id(instance_id)
    except Exception:  # noqa: BLE001  (moto raises its own not-found error)
        return None


def instance_addresses(instance: Any) -> tuple[str, ...]:
    """The private and (if any) public IPv4 addresses of a moto instance."""
    found = [getattr(instance, "private_ip", None), getattr(instance, "public_ip", None)]
    return tuple(address for address in found if address)


def all_addresses() -> set[str]:
    """Every address of every instance the sandbox knows, in every region used."""
    from moto.ec2.models import ec2_backends

    from labkit.core import sandbox

    account = sandbox.current().account_id if sandbox.running() else aws.ACCOUNT_ID
    found: set[str] = set()
    regions = ec2_backends.get(account, {})
    for region in list(regions.keys()):
        backend = regions[region]
        for reservation in list(getattr(backend, "reservations", {}).values()):
            for instance in reservation.instances:
                found.update(instance_addresses(instance))
    return found


# --------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------


def serve(instance_id: str, app: WsgiApp, *, port: int = 80, region: str | None = None) -> ServedApp:
    """Give a running instance a web app: ``app`` (a WSGI callable) answers on
    ``port`` of the instance's addresses while the instance is ``running``.

    Serving again replaces the instance's app (on the same or another port).
    Raises ``ValueError`` for an unknown or terminated instance.
    """
    if not callable(app):
        raise TypeError(f"app must be a WSGI callable (environ, start_response), not {type(app).__name__}")
    region = region or aws.default_region()
    instance = moto_instance(instance_id, region)
    if instance is None:
        raise ValueError(f"no instance {instance_id!r} in {region}: run_instances first")
    if instance.state in ("terminated", "shutting-down"):
        raise ValueError(f"instance {instance_id} is {instance.state}: it cannot serve an app")
    with _LOCK:
        previous = _APPS.get(instance_id)
        if previous is not None:
            _stop(previous)
        served = ServedApp(instance_id, region, app, int(port))
        _APPS[instance_id] = served
        if instance.state in ("pending", "running"):
            _start(served, instance)
    return served


def stop_serving(instance_id: str) -> None:
    """Take the app away from an instance (its server stops)."""
    with _LOCK:
        served = _APPS.pop(instance_id, None)
        if served is not None:
            _stop(served)


def served(instance_id: str) -> ServedApp | None:
    """The app an instance serves, or ``None``."""
    return _APPS.get(instance_id)


def url(instance_id: str, path: str = "/", *, public: bool = False) -> str:
    """``http://<private-ip>[:port]/path`` of an instance's app (public IP with ``public=True``)."""
    served_app = _APPS.get(instance_id)
    if served_app is None:
        raise ValueError(f"instance {instance_id} serves no app: call serve() first")
    instance = moto_instance(instance_id, served_app.region)
    address = getattr(instance, "public_ip" if public else "private_ip", None)
    if not address:
        raise ValueError(f"instance {instance_id} has no {'public' if public else 'private'} IP address")
    port = "" if served_app.port == 80 else f":{served_app.port}"
    return f"http://{address}{port}{path}"


def _start(served_app: ServedApp, instance: Any) -> None:
    if served_app.running:
        return
    served_app.front = HttpFront(wsgi_handler(served_app), name=f"ec2-{served_app.instance_id}")
    served_app.addresses = instance_addresses(instance)
    for address in served_app.addresses:
        names.bind(address, served_app.port, served_app.front.port)


def _stop(served_app: ServedApp) -> None:
    for address in served_app.addresses:
        names.unbind(address, served_app.port)
    if served_app.front is not None:
        served_app.front.stop()
        served_app.front = None


# --------------------------------------------------------------------------
# Following the instance's lifecycle (hooks)
# --------------------------------------------------------------------------


def _instance_ids(parsed: dict[str, Any], key: str) -> list[str]:
    return [entry.get("InstanceId", "") for entry in parsed.get(key, [])]


def after_state_change(call: Any, parsed: dict[str, Any], status: int) -> None:
    """After StopInstances, TerminateInstances, StartInstances, RebootInstances:
    stop or (re)start the apps of the instances named."""
    if status >= 300:
        return
    operation = call.operation
    if operation == "RebootInstances":
        ids = list(call.params.get("InstanceIds", []))
    else:
        key = {"StopInstances": "StoppingInstances", "TerminateInstances": "TerminatingInstances",
               "StartInstances": "StartingInstances"}[operation]
        ids = _instance_ids(parsed, key)
    with _LOCK:
        for instance_id in ids:
            served_app = _APPS.get(instance_id)
            if served_app is None:
                continue
            _stop(served_app)
            if operation == "TerminateInstances":
                del _APPS[instance_id]
            elif operation in ("StartInstances", "RebootInstances"):
                instance = moto_instance(instance_id, served_app.region)
                if instance is not None:
                    _start(served_app, instance)


def resolve_instance_address(host: str) -> list[str] | None:
    """The name claim for instance addresses: an instance's own IP address is
    the sandbox's (a connection reaches its app, or is refused), never the
    network's."""
    if not host or not host[0].isdigit():
        return None
    with _LOCK:
        for served_app in _APPS.values():
            if host in served_app.addresses:
                return [host]
    if host.count(".") == 3 and host in all_addresses():
        return [host]
    return None


def reset() -> None:
    """Stop every app's server and forget every app."""
    with _LOCK:
        for served_app in list(_APPS.values()):
            _stop(served_app)
        _APPS.clear()
