"""Web apps that EC2 instances serve: a WSGI callable behind an instance's addresses.

On AWS an instance runs whatever its AMI and user data start; a web shop's
instance runs a web server on port 80. In the sandbox no machine boots, so an
instance gets its app one of two ways:

- **user data that names an app** the lab registered, the way a launch
  template's user data starts a web server on every instance an Auto Scaling
  group launches::

      lab.ec2.register_app("shop-web", app)          # app: any WSGI callable
      ec2.run_instances(..., UserData="#!labkit-app shop-web\\n")

  The first line ``#!labkit-app <name>`` is the whole script: labkit never
  runs shell, and user data in any other form is stored and ignored (as a
  script with an error would leave an instance running with nothing on it);
- **directly**, for one instance: ``lab.ec2.serve(instance_id, app)``.

While the instance is ``running`` the app is served by an
:class:`~labkit.core.httpfront.HttpFront` on 127.0.0.1, and the instance's
private IP address (and public one, if it has one) on the app's port is bound
to it (:func:`labkit.core.names.bind`), so ``requests.get(f"http://{private_ip}/")``
reaches the app, as a client inside the VPC would. The lifecycle
(:mod:`.lifecycle`) starts the app when the instance reaches ``running`` and
stops it when the instance starts ``stopping`` or ``shutting-down``; a reboot
restarts it. An instance's addresses always belong to the sandbox: a
connection to one whose app is not running is refused, it never leaves the
machine.

Each request's CPU time (:func:`cpu_time`) and bytes in and out are
counted per instance, for ``AWS/EC2`` metrics (:mod:`.metrics`). While the app
answers a request, the thread it runs in knows its instance
(:func:`current_instance`): that is how the instance metadata service at
169.254.169.254 (:mod:`.imds`) answers for the right instance.

The app keeps running across stops (its Python objects live on): what a stop
loses on AWS (memory, an instance store) is not modelled.
"""

from __future__ import annotations

import base64
import io
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from labkit.core import aws, names
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: The first line of user data that names a registered app.
USER_DATA_PREFIX = "#!labkit-app"


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
    name: str = ""  # the registered app's name, when user data chose it
    requests: int = 0
    cpu_seconds: float = 0.0  # CPU time spent in the app, all requests
    bytes_in: int = 0  # request bytes received (request line, headers, body)
    bytes_out: int = 0  # response bytes sent (status line, headers, body)

    @property
    def running(self) -> bool:
        return self.front is not None and self.front.running


@dataclass(frozen=True)
class RegisteredApp:
    """An app user data can name."""

    name: str
    app: WsgiApp
    port: int = 80


_LOCK = threading.RLock()
_APPS: dict[str, ServedApp] = {}
_REGISTERED: dict[str, RegisteredApp] = {}
_BOOT_LOG: dict[str, list[str]] = {}
_CURRENT = threading.local()


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


def cpu_time() -> float:
    """This thread's CPU time in seconds (``time.thread_time``). Pyodide's
    ``time`` module has no ``thread_time``; a browser tab runs one thread, so
    there the process's CPU time (``time.process_time``) is the thread's."""
    thread_time = getattr(time, "thread_time", None)
    return thread_time() if thread_time is not None else time.process_time()


def current_instance() -> str | None:
    """The instance whose app this thread is running a request for, or ``None``."""
    return getattr(_CURRENT, "instance_id", None)


def _size(status: str | int, headers: list[tuple[str, str]], body: bytes) -> int:
    return len(f"HTTP/1.1 {status}\r\n") + sum(len(k) + len(v) + 4 for k, v in headers) + 2 + len(body)


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
        previous = current_instance()
        _CURRENT.instance_id = served.instance_id
        cpu = cpu_time()
        try:
            response = _run(served, environ, start_response, chunks, started)
        finally:
            spent = cpu_time() - cpu
            _CURRENT.instance_id = previous
        with _LOCK:
            served.requests += 1
            served.cpu_seconds += spent
            served.bytes_in += _size(f"{request.method} {request.path}", request.headers, request.body)
            served.bytes_out += _size(response.status, response.headers, response.body)
        return response

    return handle


def _run(served: ServedApp, environ: dict[str, Any], start_response: Any, chunks: list[bytes],
         started: list[Any]) -> HttpResponse:
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


# --------------------------------------------------------------------------
# Reading moto's instances
# --------------------------------------------------------------------------


def _account() -> str:
    from labkit.core import sandbox

    return sandbox.current().account_id if sandbox.running() else aws.ACCOUNT_ID


def moto_instance(instance_id: str, region: str) -> Any:
    """moto's instance object, or ``None``."""
    from moto.ec2.models import ec2_backends

    try:
        return ec2_backends[_account()][region].get_instance_by_id(instance_id)
    except Exception:  # noqa: BLE001  (moto raises its own not-found error)
        return None


def instance_addresses(instance: Any) -> tuple[str, ...]:
    """The private and (if any) public IPv4 addresses of a moto instance."""
    found = [getattr(instance, "private_ip", None), getattr(instance, "public_ip", None)]
    return tuple(address for address in found if address)


def all_instances() -> list[Any]:
    """Every moto instance the sandbox knows, in every region used."""
    from moto.ec2.models import ec2_backends

    found: list[Any] = []
    regions = ec2_backends.get(_account(), {})
    for region in list(regions.keys()):
        backend = regions[region]
        for reservation in list(getattr(backend, "reservations", {}).values()):
            found.extend(reservation.instances)
    return found


def all_addresses() -> set[str]:
    """Every address of every instance the sandbox knows, in every region used."""
    found: set[str] = set()
    for instance in all_instances():
        found.update(instance_addresses(instance))
    return found


# --------------------------------------------------------------------------
# Registered apps and user data
# --------------------------------------------------------------------------


def register_app(name: str, app: WsgiApp, *, port: int = 80) -> RegisteredApp:
    """Make ``app`` (a WSGI callable) available to user data: an instance
    launched with user data ``#!labkit-app <name>`` serves it on ``port``
    while it runs. Registering a name again replaces the app for instances
    that boot from then on."""
    if not callable(app):
        raise TypeError(f"app must be a WSGI callable (environ, start_response), not {type(app).__name__}")
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"an app's name is one word, like 'shop-web' (got {name!r})")
    registered = RegisteredApp(name, app, int(port))
    with _LOCK:
        _REGISTERED[name] = registered
    return registered


def registered_apps() -> dict[str, RegisteredApp]:
    """Every registered app, by name."""
    return dict(_REGISTERED)


def user_data_text(instance: Any) -> str:
    """An instance's user data as text ('' if none or not text)."""
    raw = getattr(instance, "user_data", None)
    if not raw:
        return ""
    if isinstance(raw, (list, tuple)):
        raw = raw[0] if raw else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if text.lstrip().startswith("#"):
        return text
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return text


def app_named_by(text: str) -> str | None:
    """The app name in user data (``#!labkit-app shop-web``), or ``None``."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if not first.startswith(USER_DATA_PREFIX):
        return None
    rest = first[len(USER_DATA_PREFIX):].split()
    return rest[0] if rest else ""


def boot_log(instance_id: str) -> list[str]:
    """What labkit did with an instance's user data at each boot (the lines a
    console log would show)."""
    return list(_BOOT_LOG.get(instance_id, []))


def _log(instance_id: str, line: str) -> None:
    _BOOT_LOG.setdefault(instance_id, []).append(line)


# --------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------


def serve(instance_id: str, app: WsgiApp, *, port: int = 80, region: str | None = None) -> ServedApp:
    """Give an instance a web app: ``app`` (a WSGI callable) answers on
    ``port`` of the instance's addresses while the instance is ``running``
    (at once if it runs, when it reaches ``running`` if it is ``pending``).

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
        served_app = ServedApp(instance_id, region, app, int(port))
        _APPS[instance_id] = served_app
        if instance.state == "running":
            _start(served_app, instance)
    return served_app


def stop_serving(instance_id: str) -> None:
    """Take the app away from an instance (its server stops)."""
    with _LOCK:
        served_app = _APPS.pop(instance_id, None)
        if served_app is not None:
            _stop(served_app)


def served(instance_id: str) -> ServedApp | None:
    """The app an instance serves, or ``None``."""
    return _APPS.get(instance_id)


def all_served() -> list[ServedApp]:
    with _LOCK:
        return list(_APPS.values())


def url(instance_id: str, path: str = "/", *, public: bool = False) -> str:
    """``http://<private-ip>[:port]/path`` of an instance's app (public IP with ``public=True``)."""
    served_app = _APPS.get(instance_id)
    if served_app is None:
        raise ValueError(f"instance {instance_id} serves no app: call serve() or launch it with user data naming one")
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
# Following the instance's lifecycle (called by .lifecycle)
# --------------------------------------------------------------------------


def on_running(instance: Any) -> None:
    """The instance reached ``running``: start its app (the one ``serve`` gave
    it, or the one its user data names)."""
    region = getattr(instance, "region_name", None) or aws.default_region()
    with _LOCK:
        served_app = _APPS.get(instance.id)
        if served_app is None:
            text = user_data_text(instance)
            name = app_named_by(text)
            if name is None:
                if text:
                    _log(instance.id, "user data is not '#!labkit-app <name>': stored, not run")
                return
            registered = _REGISTERED.get(name)
            if registered is None:
                _log(instance.id, f"labkit-app: no app registered as {name!r} (lab.ec2.register_app); nothing serves")
                return
            served_app = ServedApp(instance.id, region, registered.app, registered.port, name=name)
            _APPS[instance.id] = served_app
            _log(instance.id, f"labkit-app: serving {name!r} on port {registered.port}")
        _start(served_app, instance)


def on_halt(instance_id: str, *, forget: bool) -> None:
    """The instance is stopping (``forget=False``) or shutting down
    (``forget=True``): its app stops."""
    with _LOCK:
        served_app = _APPS.get(instance_id)
        if served_app is None:
            return
        _stop(served_app)
        if forget:
            del _APPS[instance_id]


def on_reboot(instance: Any) -> None:
    """A reboot restarts the app."""
    with _LOCK:
        served_app = _APPS.get(instance.id)
        if served_app is not None:
            _stop(served_app)
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
    """Stop every app's server and forget every app, registration and boot log."""
    with _LOCK:
        for served_app in list(_APPS.values()):
            _stop(served_app)
        _APPS.clear()
        _REGISTERED.clear()
        _BOOT_LOG.clear()
