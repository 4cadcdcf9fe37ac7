"""A small evaluator for the ARM template expressions this tool writes.

Used by the static checks to resolve resource names (`[concat(parameters('workspace'), ...)]`)
into their segments. Deploy-time values (uniqueString, resourceGroup(), parameter values)
become fixed placeholders without `/`, so segment counts come out as ARM would see them.
Only the functions the packager emits are known; anything else raises ExpressionError.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Callable

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][\w]*)|(?P<punct>[().,\[\]]))")


class ExpressionError(ValueError):
    pass


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and not value.startswith("[[") and value.endswith("]")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ExpressionError(f"cannot read expression at '{text[pos:pos + 20]}'")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _placeholder(*args: Any) -> str:
    return "h" + hashlib.sha256(repr(args).encode()).hexdigest()[:12]


def _provider_path(type_: str, names: tuple) -> str:
    namespace, *types = type_.split("/")
    pairs = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    return f"/providers/{namespace}/{pairs}"


def _resource_id(*args: Any) -> str:
    """resourceId([subscriptionId], [resourceGroup], type, name...): leading scope arguments skipped."""
    while args and "/" not in str(args[0]):
        args = args[1:]
    if not args:
        raise ExpressionError("resourceId() needs a resource type")
    type_, names = str(args[0]), tuple(str(a) for a in args[1:])
    return "/subscriptions/sub/resourceGroups/rg" + _provider_path(type_, names)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": lambda *a: [x for part in a for x in part] if a and isinstance(a[0], list) else "".join(str(x) for x in a),
    "uniquestring": lambda *a: _placeholder("u", *a)[:13],
    "take": lambda value, n: value[: int(n)],
    "last": lambda value: value[-1],
    "first": lambda value: value[0],
    "split": lambda value, sep: str(value).split(str(sep)),
    "replace": lambda value, old, new: str(value).replace(str(old), str(new)),
    "tolower": lambda value: str(value).lower(),
    "json": lambda value: __import__("json").loads(value),
    "guid": lambda *a: "00000000-0000-0000-0000-" + _placeholder("g", *a)[1:13],
    "resourceid": _resource_id,
    "extensionresourceid": lambda scope, type_, *names: str(scope) + _provider_path(str(type_), names),
    "resourcegroup": lambda: {"name": "rg", "location": "loc", "id": "/subscriptions/sub/resourceGroups/rg"},
    "subscription": lambda: {"id": "/subscriptions/sub", "subscriptionId": "sub"},
}


class Evaluator:
    """Evaluates expressions against a template's parameters and variables."""

    def __init__(self, template: dict):
        self.parameters = template.get("parameters") or {}
        self.variables = template.get("variables") or {}
        self._depth = 0

    def value(self, value: Any) -> Any:
        if is_expression(value):
            return self.expression(value[1:-1])
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def expression(self, text: str) -> Any:
        self._tokens = _tokens(text)
        self._pos = 0
        result = self._expr()
        if self._pos != len(self._tokens):
            raise ExpressionError(f"unexpected '{self._tokens[self._pos][1]}' in [{text}]")
        return result

    def _next(self) -> tuple[str, str]:
        if self._pos >= len(self._tokens):
            raise ExpressionError("expression ends too early")
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _peek(self) -> str | None:
        return self._tokens[self._pos][1] if self._pos < len(self._tokens) else None

    def _expr(self) -> Any:
        kind, text = self._next()
        if kind == "str":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(text)
        elif kind == "name":
            value = self._call(text)
        else:
            raise ExpressionError(f"unexpected '{text}'")
        while self._peek() in (".", "["):
            if self._next()[1] == ".":
                value = value[self._next()[1]]
            else:
                index = self._expr()
                self._next()
                value = value[index]
        return value

    def _call(self, name: str) -> Any:
        if self._next()[1] != "(":
            raise ExpressionError(f"'{name}' must be called")
        args = []
        while self._peek() != ")":
            args.append(self._expr())
            if self._peek() == ",":
                self._next()
        self._next()
        lowered = name.lower()
        if lowered == "parameters":
            return self._parameter(args[0])
        if lowered == "variables":
            return self._variable(args[0])
        if lowered not in FUNCTIONS:
            raise ExpressionError(f"function '{name}' is not known to the static checks")
        return FUNCTIONS[lowered](*args)

    def _parameter(self, name: str) -> Any:
        if name not in self.parameters:
            raise ExpressionError(f"parameters('{name}') is not defined")
        default = self.parameters[name].get("defaultValue", "")
        return f"p-{name}" if default == "" else default if not is_expression(default) else f"p-{name}"

    def _variable(self, name: str) -> Any:
        if name not in self.variables:
            raise ExpressionError(f"variables('{name}') is not defined")
        if self._depth > 20:
            raise ExpressionError(f"variables('{name}') refers to itself")
        saved = (self._tokens, self._pos)
        self._depth += 1
        try:
            return self.value(self.variables[name])
        finally:
            self._depth -= 1
            self._tokens, self._pos = saved
