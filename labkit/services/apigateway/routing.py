"""Which resource and method of a REST API answer a request path.

A resource path is made of literal parts (``items``), path parameters
(``{id}``, one segment) and at most one greedy parameter at the end
(``{proxy+}``, one or more segments). As on AWS, a literal part wins over a
parameter, and a parameter over a greedy one. A method defined for the exact
HTTP verb wins over ``ANY``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from .model import ApiSnapshot, MethodSpec, ResourceSpec


@dataclass(frozen=True)
class Route:
    resource: ResourceSpec
    method: MethodSpec
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _match(template: list[str], parts: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(a rank: lower is more specific, the parameters) or None."""
    params: dict[str, str] = {}
    rank: list[int] = []
    for index, piece in enumerate(template):
        if piece.startswith("{") and piece.endswith("+}"):
            rest = parts[index:]
            if not rest or index != len(template) - 1:
                return None
            params[piece[1:-2]] = "/".join(unquote(p) for p in rest)
            rank.append(2)
            return tuple(rank), params
        if index >= len(parts):
            return None
        if piece.startswith("{") and piece.endswith("}"):
            params[piece[1:-1]] = unquote(parts[index])
            rank.append(1)
        elif piece == parts[index] or piece == unquote(parts[index]):
            rank.append(0)
        else:
            return None
    if len(template) != len(parts):
        return None
    return tuple(rank), params


def find_resource(api: ApiSnapshot, path: str) -> tuple[ResourceSpec, dict[str, str]] | None:
    """The most specific resource whose path matches ``path`` (below the stage)."""
    parts = _segments(path)
    best: tuple[tuple[int, ...], ResourceSpec, dict[str, str]] | None = None
    for resource in api.resources:
        found = _match(_segments(resource.path), parts)
        if found is None:
            continue
        rank, params = found
        if best is None or rank < best[0]:
            best = (rank, resource, params)
    return None if best is None else (best[1], best[2])


def route(api: ApiSnapshot, method: str, path: str) -> Route | None:
    """The resource and method that serve ``method path``, or None (AWS answers
    403 ``Missing Authentication Token``)."""
    found = find_resource(api, path)
    if found is None:
        return None
    resource, params = found
    spec = resource.methods.get(method.upper()) or resource.methods.get("ANY")
    if spec is None:
        return None
    return Route(resource, spec, params)
