"""Container images: how an image name in a task definition becomes a Python app.

On AWS a container runs the image its task definition names, pulled from a
registry. No image is ever pulled in the sandbox: an image name is looked up
in a registry of Python apps kept in the notebook's process.

- ``lab.ecs.register_image("shop/web:1", app)``: the lab's own images. ``app``
  is a WSGI callable that serves while the container runs; or pass
  ``start=make_app`` instead, a function called when the container starts
  with the container's environment (a ``dict`` of the task definition's
  ``environment``): it returns the WSGI app to serve, returns ``None`` when the
  container's job is done (the container exits with code 0), or raises (the
  container exits with code 1; ``SystemExit(n)`` exits with code ``n``).
- Stand-ins for the images every tutorial uses: ``nginx`` (Docker Hub's
  ``nginx``, ``public.ecr.aws/nginx/nginx``) answers with nginx's welcome
  page, ``httpd`` (``public.ecr.aws/docker/library/httpd``) with Apache's
  "It works!".
- Any other image is a **placeholder**: its container stays ``RUNNING`` and
  answers no traffic, so a task definition copied from AWS's examples still
  runs.

Names are matched the way a registry reads them: the registry host
(``public.ecr.aws``, ``123456789012.dkr.ecr.us-east-1.amazonaws.com``,
``docker.io``) and the ``library/`` prefix are set aside, then the repository
and tag are looked up (``shop/web:1``), then the repository alone (a name
registered without a tag matches every tag). A missing tag is ``latest``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Starter = Callable[[dict[str, str]], "WsgiApp | None"]


@dataclass(frozen=True)
class Image:
    """One image the sandbox can run."""

    name: str  # as registered: "shop/web:1" or "shop/web"
    start: Starter  # called at container start with its environment
    memory_mib: int = 64  # the resident memory its process is modelled to use
    builtin: bool = False
    summary: str = ""


_LOCK = threading.RLock()
_IMAGES: dict[str, Image] = {}


def parse(image: str) -> tuple[str, str]:
    """``(repository, tag)`` of an image reference, registry host and
    ``library/`` set aside: ``public.ecr.aws/nginx/nginx:1.27`` ->
    ``("nginx/nginx", "1.27")``; ``nginx`` -> ``("nginx", "latest")``."""
    reference = image.strip()
    reference, _, _digest = reference.partition("@")
    parts = reference.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts[:2] == ["docker", "library"]:
        parts = parts[2:]
    elif parts[:1] == ["library"]:
        parts = parts[1:]
    path = "/".join(parts)
    repository, _, tag = path.partition(":")
    return repository.lower(), tag or "latest"


def _key(name: str) -> str:
    repository, tag = parse(name)
    return f"{repository}:{tag}" if ":" in name.rsplit("/", 1)[-1] else repository


def register(name: str, app: WsgiApp | None = None, *, start: Starter | None = None, memory_mib: int = 64,
             summary: str = "") -> Image:
    """Make ``name`` an image the sandbox runs (see the module's docstring)."""
    if (app is None) == (start is None):
        raise TypeError("give exactly one of app (a WSGI callable) or start (a function of the environment)")
    if app is not None and not callable(app):
        raise TypeError(f"app must be a WSGI callable (environ, start_response), not {type(app).__name__}")
    if start is not None and not callable(start):
        raise TypeError(f"start must be a function of the container's environment, not {type(start).__name__}")
    if int(memory_mib) <= 0:
        raise ValueError("memory_mib must be a positive number of MiB")
    starter: Starter = start if start is not None else (lambda _env, _app=app: _app)  # type: ignore[misc]
    image = Image(name, starter, int(memory_mib), summary=summary)
    with _LOCK:
        _IMAGES[_key(name)] = image
    return image


def lookup(image: str) -> Image | None:
    """The image a reference runs, or ``None`` (a placeholder container)."""
    repository, tag = parse(image)
    with _LOCK:
        found = _IMAGES.get(f"{repository}:{tag}") or _IMAGES.get(repository)
        if found is not None:
            return found
    return BUILTIN.get(repository)


def registered() -> dict[str, Image]:
    """The lab's own images, by the name they were registered with."""
    with _LOCK:
        return {image.name: image for image in _IMAGES.values()}


def reset() -> None:
    with _LOCK:
        _IMAGES.clear()


# --------------------------------------------------------------------------
# The stand-ins
# --------------------------------------------------------------------------

NGINX_PAGE = (b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
              b"<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed "
              b"and working.</p>\n</body>\n</html>\n")
HTTPD_PAGE = b"<html><body><h1>It works!</h1></body></html>\n"


def _static(page: bytes, server: str) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            start_response("405 Not Allowed", [("Server", server), ("Content-Type", "text/html")])
            return [b"<html><body><h1>405 Not Allowed</h1></body></html>\n"]
        if environ["PATH_INFO"] not in ("/", "/index.html"):
            start_response("404 Not Found", [("Server", server), ("Content-Type", "text/html")])
            return [b"<html><body><h1>404 Not Found</h1></body></html>\n"]
        start_response("200 OK", [("Server", server), ("Content-Type", "text/html")])
        return [page if environ["REQUEST_METHOD"] == "GET" else b""]

    return app


def _builtin(name: str, app: WsgiApp, memory_mib: int, summary: str) -> Image:
    return Image(name, lambda _env: app, memory_mib, builtin=True, summary=summary)


_NGINX = _builtin("nginx", _static(NGINX_PAGE, "nginx"), 16, "a static server with nginx's welcome page")
_HTTPD = _builtin("httpd", _static(HTTPD_PAGE, "Apache"), 24, "a static server with Apache's 'It works!' page")

#: Stand-ins by repository (after the registry host and ``library/`` are set aside).
BUILTIN: dict[str, Image] = {"nginx": _NGINX, "nginx/nginx": _NGINX, "httpd": _HTTPD}
