"""Mapping templates: the subset of Velocity (VTL) that labkit renders.

API Gateway transforms a non-proxy integration's request and response with
mapping templates written in the Velocity Template Language, with the
variables ``$input``, ``$context``, ``$stageVariables`` and ``$util``. labkit
renders *references*, which is what most templates are made of:

- ``$input.body``, ``$input.json('$.path')``, ``$input.path('$.path')``,
  ``$input.params('name')`` (path, then query string, then header),
  ``$input.params().path`` / ``.querystring`` / ``.header`` (a map);
- ``$context.requestId``, ``$context.authorizer.principalId``,
  ``$context.identity.sourceIp`` and the other ``$context`` fields labkit sets;
- ``$stageVariables.name``;
- ``$util.escapeJavaScript(...)``, ``$util.urlEncode``, ``$util.urlDecode``,
  ``$util.base64Encode``, ``$util.base64Decode``, ``$util.parseJson``;
- ``${...}`` and quiet ``$!...`` forms; ``\\$`` for a literal dollar.

Directives (``#set``, ``#if``, ``#foreach``) are **not** rendered: a template
that uses one raises :class:`TemplateError`, which the plane answers as AWS
answers a configuration error (500 ``Internal server error``). A map or list
renders as JSON (Velocity would print Java's ``{a=1}``).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, unquote_plus


class TemplateError(ValueError):
    """A template labkit cannot render (a directive, a syntax error)."""


_DIRECTIVE = re.compile(r"(?m)^\s*#(set|if|elseif|else|end|foreach|macro|define|parse|include)\b")


class _Input:
    def __init__(self, body: bytes, params: dict[str, dict[str, str]]) -> None:
        self._body = body.decode("utf-8", "replace")
        self._params = params
        self._document: Any = None
        self._parsed = False

    def _json_document(self) -> Any:
        if not self._parsed:
            self._parsed = True
            try:
                self._document = json.loads(self._body) if self._body.strip() else {}
            except ValueError:
                self._document = None
        return self._document

    def _select(self, expression: str) -> Any:
        document = self._json_document()
        if expression.strip() in ("$", ""):
            return document
        from jsonpath_ng import parse  # labkit's dependency for JSONPath

        try:
            matches = [match.value for match in parse(expression).find(document)]
        except Exception as error:  # noqa: BLE001  (jsonpath-ng raises several types)
            raise TemplateError(f"Invalid JSONPath {expression!r}: {error}") from error
        if not matches:
            return None
        return matches[0] if len(matches) == 1 else matches

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "body" and not args:
            return self._body
        if name == "json":
            return json.dumps(self._select(str(args[0]) if args else "$"))
        if name == "path":
            return self._select(str(args[0]) if args else "$")
        if name == "params":
            if not args:
                return {"path": dict(self._params["path"]), "querystring": dict(self._params["querystring"]),
                        "header": dict(self._params["header"])}
            wanted = str(args[0])
            for where in ("path", "querystring"):
                if wanted in self._params[where]:
                    return self._params[where][wanted]
            lowered = {k.lower(): v for k, v in self._params["header"].items()}
            return lowered.get(wanted.lower(), "")
        raise TemplateError(f"$input.{name} is not supported by labkit's template renderer")


def _util(name: str, args: list[Any]) -> Any:
    text = "" if not args or args[0] is None else str(args[0])
    if name == "escapeJavaScript":
        return json.dumps(text)[1:-1].replace("'", "\\'")
    if name == "urlEncode":
        return quote(text, safe="")
    if name == "urlDecode":
        return unquote_plus(text)
    if name == "base64Encode":
        return base64.b64encode(text.encode()).decode()
    if name == "base64Decode":
        return base64.b64decode(text.encode()).decode("utf-8", "replace")
    if name == "parseJson":
        return json.loads(text)
    raise TemplateError(f"$util.{name} is not supported by labkit's template renderer")


class _Parser:
    """Reads one reference (``$a.b.c('x')``) starting after the ``$``."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def identifier(self) -> str | None:
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*").match(self.text, self.pos)
        if not match:
            return None
        name = match.group(0).rstrip("-")
        self.pos += len(name)
        return name

    def arguments(self, render_ref: Any) -> list[Any]:
        args: list[Any] = []
        self.pos += 1  # "("
        while True:
            while self.peek().isspace():
                self.pos += 1
            char = self.peek()
            if char == ")":
                self.pos += 1
                return args
            if char in ("'", '"'):
                end = self.text.find(char, self.pos + 1)
                if end < 0:
                    raise TemplateError("unterminated string in a template")
                args.append(self.text[self.pos + 1:end])
                self.pos = end + 1
            elif char == "$":
                value, self.pos = render_ref(self.text, self.pos + 1)
                args.append(value)
            elif char == "":
                raise TemplateError("unterminated call in a template")
            else:
                match = re.compile(r"-?\d+(\.\d+)?|true|false").match(self.text, self.pos)
                if not match:
                    raise TemplateError(f"unexpected {char!r} in a template call")
                token = match.group(0)
                args.append(token == "true" if token in ("true", "false") else json.loads(token))
                self.pos = match.end()
            while self.peek().isspace():
                self.pos += 1
            if self.peek() == ",":
                self.pos += 1


def render(template: str, *, body: bytes = b"", params: dict[str, dict[str, str]] | None = None,
           context: dict[str, Any] | None = None, stage_variables: dict[str, str] | None = None) -> str:
    """Render ``template`` (see the module docstring for what is supported)."""
    if _DIRECTIVE.search(template):
        raise TemplateError("labkit renders references only; #set, #if and #foreach are not supported")
    params = params or {"path": {}, "querystring": {}, "header": {}}
    roots: dict[str, Any] = {"input": _Input(body, params), "context": context or {},
                             "stageVariables": dict(stage_variables or {})}

    def reference(text: str, pos: int) -> tuple[Any, int]:
        parser = _Parser(text, pos)
        quiet = parser.peek() == "!"
        if quiet:
            parser.pos += 1
        braced = parser.peek() == "{"
        if braced:
            parser.pos += 1
        name = parser.identifier()
        if name is None:
            return "$", pos  # a lone dollar sign
        value: Any = roots.get(name)
        owner = name
        while parser.peek() == "." and re.match(r"\.[A-Za-z_]", text[parser.pos:parser.pos + 2]):
            parser.pos += 1
            member = parser.identifier() or ""
            if parser.peek() == "(":
                args = parser.arguments(reference)
                if isinstance(value, _Input):
                    value = value.call(member, args)
                elif owner == "util" and value is None:
                    value = _util(member, args)
                elif member in ("get",) and isinstance(value, dict) and args:
                    value = value.get(str(args[0]))
                else:
                    raise TemplateError(f"method {member}() is not supported by labkit's template renderer")
            elif isinstance(value, dict):
                value = value.get(member)
            else:
                value = None
            owner = member
        if braced:
            if parser.peek() != "}":
                raise TemplateError("unterminated ${...} in a template")
            parser.pos += 1
        if value is None and not quiet and name not in roots and name != "util":
            return text[pos - 1:parser.pos], parser.pos  # unknown variable: printed as written
        return value, parser.pos

    out: list[str] = []
    pos = 0
    while pos < len(template):
        char = template[pos]
        if char == "\\" and template[pos + 1:pos + 2] == "$":
            out.append("$")
            pos += 2
            continue
        if char == "$":
            value, pos = reference(template, pos + 1)
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                out.append(json.dumps(value))
            elif isinstance(value, bool):
                out.append("true" if value else "false")
            else:
                out.append(str(value))
            continue
        out.append(char)
        pos += 1
    return "".join(out)
