"""An evaluator for the subset of the ARM template expression language Content Hub packages use.

Two uses:
- `install` evaluates a package's mainTemplate for one workspace (`Scope` gives the subscription,
  resource group and location; parameters are the values the portal's createUiDefinition would
  pass): values come out exactly as ARM would compute them (uniqueString and guid included,
  see packer.package.arm_hash).
- the build's static checks resolve resource names without a deployment: `Evaluator(template)`
  with no scope uses placeholder values without `/` (so segment counts come out as ARM sees them)
  and `p-<name>` for a parameter with no value.

Anything outside the subset (reference(), list*(), newGuid(), utcNow(), copy loops, nested
deployments...) raises ExpressionError naming it; nothing is guessed. SUPPORTED lists the functions.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from packer.package.arm_hash import arm_guid, unique_string

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w]*)|(?P<punct>[().,\[\]]))")


class ExpressionError(ValueError):
    pass


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and not value.startswith("[[") and value.endswith("]")


def literal(value: str) -> str:
    """A JSON string that is not an expression, as ARM reads it: a leading `[[` stands for `[`."""
    return value[1:] if value.startswith("[[") else value


@dataclass(frozen=True)
class Scope:
    """Where a template is deployed: what resourceGroup(), subscription() and deployment() return."""

    subscription_id: str
    resource_group: str
    location: str = ""
    tenant_id: str = "00000000-0000-0000-0000-000000000000"
    deployment_name: str = "sentinel-packer-install"

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


_PLACEHOLDER_SCOPE = Scope("sub", "rg", "loc")


# --- syntax ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    name: str
    args: tuple
    accessors: tuple = ()  # ("prop", name) | ("index", node)


@dataclass(frozen=True)
class Lit:
    value: Any
    accessors: tuple = ()


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


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self):
        node = self._expr()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected '{self.tokens[self.pos][1]}' in [{self.text}]")
        return node

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"expression ends too early: [{self.text}]")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _expr(self):
        kind, text = self._next()
        if kind == "str":
            node: Any = Lit(text[1:-1].replace("''", "'"))
        elif kind == "num":
            node = Lit(float(text) if "." in text else int(text))
        elif kind == "name":
            node = Call(text, self._args(text))
        else:
            raise ExpressionError(f"unexpected '{text}' in [{self.text}]")
        accessors = []
        while self._peek() in (".", "["):
            if self._next()[1] == ".":
                accessors.append(("prop", self._next()[1]))
            else:
                accessors.append(("index", self._expr()))
                if self._next()[1] != "]":
                    raise ExpressionError(f"missing ']' in [{self.text}]")
        if accessors:
            node = Call(node.name, node.args, tuple(accessors)) if isinstance(node, Call) else Lit(node.value, tuple(accessors))
        return node

    def _args(self, name: str) -> tuple:
        if self._next()[1] != "(":
            raise ExpressionError(f"'{name}' must be called, as {name}(...)")
        args = []
        while self._peek() != ")":
            args.append(self._expr())
            if self._peek() == ",":
                self._next()
            elif self._peek() != ")":
                raise ExpressionError(f"expected ',' or ')' after an argument of {name}() in [{self.text}]")
        self._next()
        return tuple(args)


# --- functions ---------------------------------------------------------------------------------

def _text(value: Any) -> str:
    """A value as ARM's string()/concat() write it."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if value is None:
        return ""
    return str(value)


def _strings(name: str, args: tuple) -> tuple[str, ...]:
    if not args or not all(isinstance(a, str) for a in args):
        raise ExpressionError(f"{name}() takes one or more strings, got {list(args)!r}")
    return args


def _concat(*args: Any) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [x for part in args for x in part]
    return "".join(_text(a) for a in args)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}")


def _format(template: str, *args: Any) -> str:
    def item(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        index = int(match.group(1))
        if index >= len(args):
            raise ExpressionError(f"format(): '{match.group(0)}' has no argument")
        if match.group(2) or match.group(3):
            raise ExpressionError(f"format(): alignment and format strings ('{match.group(0)}') are not supported")
        return _text(args[index])
    return _FORMAT_ITEM.sub(item, str(template))


def _provider_path(type_: str, names: tuple) -> str:
    namespace, *types = type_.split("/")
    if len(types) != len(names):
        raise ExpressionError(f"resource type '{type_}' needs {len(types)} name(s), got {len(names)}: {list(names)}")
    pairs = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    return f"/providers/{namespace}/{pairs}"


def _equals(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    return a == b


def _length(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise ExpressionError(f"length() takes a string, array or object, got {value!r}")


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _text(item) in container
    if isinstance(container, dict):
        return str(item).lower() in {k.lower() for k in container}
    if isinstance(container, list):
        return any(_equals(x, item) for x in container)
    raise ExpressionError(f"contains() takes a string, array or object, got {container!r}")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _first(value: Any) -> Any:
    return value[0] if value else None


def _last(value: Any) -> Any:
    return value[-1] if value else None


def _json(value: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"json(): not JSON text: {exc}") from None


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"{name}() takes booleans, got {value!r}")
    return value


_PURE: dict[str, Callable[..., Any]] = {
    "concat": _concat,
    "format": _format,
    "uniquestring": lambda *a: unique_string(*_strings("uniqueString", a)),
    "guid": lambda *a: arm_guid(*_strings("guid", a)),
    "json": _json,
    "equals": _equals,
    "not": lambda a: not _bool("not", a),
    "tolower": lambda a: str(a).lower(),
    "toupper": lambda a: str(a).upper(),
    "replace": lambda value, old, new: str(value).replace(str(old), str(new)),
    "string": _text,
    "empty": _empty,
    "first": _first,
    "last": _last,
    "length": _length,
    "contains": _contains,
    "take": lambda value, n: value[: max(int(n), 0)],
    "skip": lambda value, n: value[max(int(n), 0):],
    "split": lambda value, sep: str(value).split(str(sep)),
    "startswith": lambda value, prefix: str(value).lower().startswith(str(prefix).lower()),
    "endswith": lambda value, suffix: str(value).lower().endswith(str(suffix).lower()),
    "true": lambda: True,
    "false": lambda: False,
    "null": lambda: None,
    "createarray": lambda *a: list(a),
}
_LAZY = ("if", "and", "or", "coalesce", "parameters", "variables")
_SCOPED = ("resourceid", "subscriptionresourceid", "extensionresourceid", "resourcegroup", "subscription",
           "deployment")
SUPPORTED: tuple[str, ...] = tuple(sorted(
    ["concat", "format", "uniqueString", "guid", "json", "equals", "not", "toLower", "toUpper", "replace",
     "string", "empty", "first", "last", "length", "contains", "take", "skip", "split", "startsWith",
     "endsWith", "true", "false", "null", "createArray", "if", "and", "or", "coalesce", "parameters",
     "variables", "resourceId", "subscriptionResourceId", "extensionResourceId", "resourceGroup",
     "subscription", "deployment"], key=str.lower))
# Functions ARM has that a package could use but whose value depends on live state or time.
_REFUSED_WHY = {
    "reference": "reads a deployed resource's state", "list": "calls a resource's list action",
    "listkeys": "returns secrets", "newguid": "is random on every deployment",
    "utcnow": "is the deployment time",
}


class Evaluator:
    """Evaluates expressions against a template's parameters and variables.

    `scope` None is the static checks' mode: placeholders stand in for deployment values.
    `values` are the parameter values given for the deployment (else each default applies).
    """

    def __init__(self, template: dict, scope: Scope | None = None, values: dict[str, Any] | None = None):
        self.parameters = template.get("parameters") or {}
        self.variables = template.get("variables") or {}
        self.template = template
        self.static = scope is None
        self.scope = scope or _PLACEHOLDER_SCOPE
        self.values = dict(values or {})
        self._resolved_parameters: dict[str, Any] = {}
        self._resolved_variables: dict[str, Any] = {}
        self._stack: list[str] = []
        self._parsed: dict[str, Any] = {}

    # --- values --------------------------------------------------------------------------------

    def value(self, value: Any) -> Any:
        """A JSON value with every expression in it evaluated (`[[` literals unescaped)."""
        if isinstance(value, str):
            if is_expression(value):
                return self.expression(value[1:-1])
            return literal(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def expression(self, text: str) -> Any:
        node = self._parsed.get(text)
        if node is None:
            node = self._parsed[text] = _Parser(text).parse()
        return self._eval(node)

    # --- evaluation ----------------------------------------------------------------------------

    def _eval(self, node: Any) -> Any:
        value = node.value if isinstance(node, Lit) else self._call(node)
        for kind, key in node.accessors:
            value = self._access(value, self._eval(key) if kind == "index" else key, kind)
        return value

    @staticmethod
    def _access(value: Any, key: Any, kind: str) -> Any:
        if isinstance(value, dict):
            if kind == "prop":  # property names are case-insensitive in ARM
                match = next((k for k in value if k.lower() == str(key).lower()), None)
                if match is None:
                    raise ExpressionError(f"the object has no property '{key}' (it has: {', '.join(value) or 'none'})")
                return value[match]
            if key not in value:
                raise ExpressionError(f"the object has no property '{key}'")
            return value[key]
        if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            if not -len(value) <= key < len(value):
                raise ExpressionError(f"index {key} is out of range (the array has {len(value)} items)")
            return value[key]
        raise ExpressionError(f"cannot read {key!r} of {type(value).__name__} {value!r}")

    def _call(self, node: Call) -> Any:
        name = node.name.lower()
        if name in _LAZY:
            return getattr(self, f"_fn_{name}")(node.args)
        args = [self._eval(a) for a in node.args]
        if name in _PURE:
            try:
                return _PURE[name](*args)
            except TypeError as exc:
                raise ExpressionError(f"{node.name}(): wrong arguments ({exc})") from None
        if name in _SCOPED:
            return getattr(self, f"_fn_{name}")(*args)
        raise ExpressionError(self._refusal(node.name))

    @staticmethod
    def _refusal(name: str) -> str:
        lowered = name.lower()
        why = _REFUSED_WHY.get(lowered) or ("calls a resource's list action" if lowered.startswith("list") else "")
        reason = f" ({why}: it has no value before deployment)" if why else ""
        return (f"ARM function '{name}' is not supported{reason}; sentinel-packer evaluates only: "
                f"{', '.join(SUPPORTED)}")

    # lazy functions: arguments evaluated only as needed, like ARM's short-circuiting if/and/or
    def _fn_if(self, args: tuple) -> Any:
        if len(args) != 3:
            raise ExpressionError("if() takes a condition and two values")
        return self._eval(args[1]) if _bool("if", self._eval(args[0])) else self._eval(args[2])

    def _fn_and(self, args: tuple) -> bool:
        return all(_bool("and", self._eval(a)) for a in args)

    def _fn_or(self, args: tuple) -> bool:
        return any(_bool("or", self._eval(a)) for a in args)

    def _fn_coalesce(self, args: tuple) -> Any:
        for arg in args:
            value = self._eval(arg)
            if value is not None:
                return value
        return None

    def _fn_parameters(self, args: tuple) -> Any:
        name = self._eval(args[0]) if len(args) == 1 else None
        if not isinstance(name, str):
            raise ExpressionError("parameters() takes one parameter name")
        return self.parameter(name)

    def _fn_variables(self, args: tuple) -> Any:
        name = self._eval(args[0]) if len(args) == 1 else None
        if not isinstance(name, str):
            raise ExpressionError("variables() takes one variable name")
        return self.variable(name)

    def parameter(self, name: str) -> Any:
        if name not in self.parameters:
            raise ExpressionError(f"parameters('{name}') is not defined")
        if name not in self._resolved_parameters:
            self._resolved_parameters[name] = self._guarded(f"parameters('{name}')", lambda: self._parameter(name))
        return self._resolved_parameters[name]

    def _parameter(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        definition = self.parameters[name] or {}
        if "defaultValue" not in definition:
            if self.static:
                return f"p-{name}"
            raise ExpressionError(f"parameter '{name}' has no value and no defaultValue")
        default = definition["defaultValue"]
        if self.static and (default == "" or is_expression(default)):
            return f"p-{name}"
        return self.value(default)

    def variable(self, name: str) -> Any:
        if name not in self.variables:
            raise ExpressionError(f"variables('{name}') is not defined")
        if name not in self._resolved_variables:
            definition = self.variables[name]
            if isinstance(definition, dict) and "copy" in definition or name == "copy":
                raise ExpressionError(f"variables('{name}') uses a copy loop, which is not supported")
            self._resolved_variables[name] = self._guarded(f"variables('{name}')", lambda: self.value(definition))
        return self._resolved_variables[name]

    def _guarded(self, label: str, compute: Callable[[], Any]) -> Any:
        if label in self._stack:
            raise ExpressionError(f"{label} refers to itself (through {' -> '.join(self._stack)})")
        self._stack.append(label)
        try:
            return compute()
        finally:
            self._stack.pop()

    # scope functions
    def _fn_resourceid(self, *args: Any) -> str:
        """resourceId([subscriptionId], [resourceGroupName], type, name...): the type is the first
        argument with a `/`; up to two before it are the subscription and resource group."""
        position = next((i for i, a in enumerate(args) if isinstance(a, str) and "/" in a), None)
        if position is None or position > 2:
            raise ExpressionError(f"resourceId() needs a resource type (namespace/type), got {list(args)}")
        leading = [str(a) for a in args[:position]]
        subscription = leading[0] if len(leading) == 2 else self.scope.subscription_id
        group = leading[-1] if leading else self.scope.resource_group
        names = tuple(str(a) for a in args[position + 1:])
        return f"/subscriptions/{subscription}/resourceGroups/{group}" + _provider_path(str(args[position]), names)

    def _fn_subscriptionresourceid(self, *args: Any) -> str:
        position = next((i for i, a in enumerate(args) if isinstance(a, str) and "/" in a), None)
        if position is None or position > 1:
            raise ExpressionError(f"subscriptionResourceId() needs a resource type, got {list(args)}")
        subscription = str(args[0]) if position == 1 else self.scope.subscription_id
        names = tuple(str(a) for a in args[position + 1:])
        return f"/subscriptions/{subscription}" + _provider_path(str(args[position]), names)

    def _fn_extensionresourceid(self, scope_id: Any, type_: Any, *names: Any) -> str:
        return str(scope_id).rstrip("/") + _provider_path(str(type_), tuple(str(n) for n in names))

    def _fn_resourcegroup(self) -> dict:
        return {"id": self.scope.resource_group_id, "name": self.scope.resource_group,
                "type": "Microsoft.Resources/resourceGroups", "location": self.scope.location,
                "properties": {"provisioningState": "Succeeded"}}

    def _fn_subscription(self) -> dict:
        return {"id": f"/subscriptions/{self.scope.subscription_id}", "subscriptionId": self.scope.subscription_id,
                "tenantId": self.scope.tenant_id, "displayName": self.scope.subscription_id}

    def _fn_deployment(self) -> dict:
        return {"name": self.scope.deployment_name,
                "properties": {"template": {"contentVersion": self.template.get("contentVersion", "1.0.0.0")}}}


@dataclass(frozen=True)
class DeployedResource:
    """One resource a template deploys, evaluated: its full id and the body ARM would PUT."""

    type: str
    name: str
    api_version: str
    resource_id: str
    body: dict = field(default_factory=dict)  # kind, location, etag, tags, properties... (no type/name/apiVersion)
    depends_on: tuple[str, ...] = ()
    path: str = ""  # where in the template, e.g. resources[3]


_NOT_BODY = {"type", "name", "apiVersion", "dependsOn", "condition", "copy", "comments", "metadata", "scope"}


def deployed_resources(template: dict, scope: Scope, values: dict[str, Any] | None = None) -> list[DeployedResource]:
    """Every resource the template deploys at `scope` with `values`, in template order (conditions
    evaluated; a resource whose condition is false is left out)."""
    evaluator = Evaluator(template, scope, values)
    out = []
    for index, resource in enumerate(template.get("resources") or []):
        path = f"resources[{index}]"
        where = f"{path} ({resource.get('type', '?')})"
        if not isinstance(resource, dict):
            raise ExpressionError(f"{path}: not an object")
        for unsupported in ("copy", "scope"):
            if unsupported in resource:
                raise ExpressionError(f"{where}: '{unsupported}' is not supported")
        if str(resource.get("type", "")).lower() == "microsoft.resources/deployments":
            raise ExpressionError(f"{where}: nested deployments are not supported")
        try:
            if "condition" in resource and not _bool("condition", evaluator.value(resource["condition"])):
                continue
            type_, name = str(evaluator.value(resource["type"])), str(evaluator.value(resource["name"]))
            body = {k: evaluator.value(v) for k, v in resource.items() if k not in _NOT_BODY}
            depends = tuple(str(evaluator.value(d)) for d in resource.get("dependsOn") or ())
        except KeyError as exc:
            raise ExpressionError(f"{where}: no {exc}") from None
        except ExpressionError as exc:
            raise ExpressionError(f"{where}: {exc}") from None
        resource_id = scope.resource_group_id + _provider_path(type_, tuple(name.split("/")))
        out.append(DeployedResource(type_, name, str(resource.get("apiVersion", "")), resource_id, body, depends, path))
    return out
