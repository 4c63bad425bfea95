"""The one place that checks configuration files against their typed definitions.

Every config file (``hyperparameters.yaml`` / ``--config``, ``regression.yaml``,
``datasets.yaml``) is read into frozen dataclasses or model constructors whose type hints are
the schema: :func:`check_fields` checks a mapping against a dataclass (unknown keys, types,
``field(metadata=...)`` bounds and allowed values) and :func:`check_value` one value against a
type hint. A field added to a dataclass is validated without touching this module. A mistake
is one line naming the file, the key, the expected type and the allowed values.

Metadata a field may carry: ``{"min": 1}`` (numbers), ``{"choices": (...)}``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Union

#: error class used when the caller gives none
SchemaError = ValueError


def describe(hint: Any) -> str:
    """A readable name of a type hint ("an integer", "a list of numbers", ...)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return "any value"
    if origin in (Union, types.UnionType):
        parts = [describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin in (tuple, list):
        inner = args[0] if args else Any
        return f"a list of {_plural(describe(inner))}"
    if origin is dict or hint is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


def _plural(text: str) -> str:
    for article in ("an ", "a "):
        if text.startswith(article):
            text = text[len(article):]
            return {"true or false": "booleans"}.get(text, text + "s")
    return text


def _coerce(value: Any, hint: Any) -> tuple[bool, Any]:
    """(True, value converted to ``hint``) when it fits, else (False, None)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return True, value  # nested dataclasses are checked by their own check_fields call
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return True, None
        for member in args:
            if member is not type(None):
                ok, converted = _coerce(value, member)
                if ok:
                    return True, converted
        return False, None
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False, None
        inner = args[0] if args else Any
        converted = [_coerce(v, inner) for v in value]
        if not all(ok for ok, _ in converted):
            return False, None
        values = [v for _, v in converted]
        return True, tuple(values) if origin is tuple else values
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            return False, None
        if len(args) == 2:
            converted = {k: _coerce(v, args[1]) for k, v in value.items()}
            if not all(ok for ok, _ in converted.values()):
                return False, None
            return True, {k: v for k, (_, v) in converted.items()}
        return True, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else None
    if hint is str:
        return isinstance(value, str), value
    return isinstance(value, hint) if isinstance(hint, type) else True, value


def check_value(value: Any, hint: Any, where: str, source: str, error: type[Exception] = SchemaError,
                metadata: typing.Mapping[str, Any] | None = None) -> Any:
    """``value`` converted to ``hint`` (ints accepted as floats, lists as tuples), or ``error``
    with ``"<source>: <where>: expected ..., got ..."``."""
    ok, converted = _coerce(value, hint)
    if not ok:
        raise error(f"{source}: {where}: expected {describe(hint)}, got {value!r}")
    metadata = metadata or {}
    choices = metadata.get("choices")
    if choices is not None and converted not in choices:
        raise error(f"{source}: {where}: got {value!r}; allowed: {', '.join(map(str, choices))}")
    minimum = metadata.get("min")
    if minimum is not None and converted is not None and converted < minimum:
        raise error(f"{source}: {where}: expected {describe(hint)} >= {minimum}, got {value!r}")
    return converted


def check_fields(raw: Any, cls: type, where: str, source: str, error: type[Exception] = SchemaError,
                 exclude: typing.Collection[str] = ()) -> dict[str, Any]:
    """The entries of the mapping ``raw`` checked against the fields of dataclass ``cls``
    (``exclude``: fields a file may not set); returns them converted, ready for ``cls(**...)``."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise error(f"{source}: {where}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in exclude}
    unknown = sorted(str(k) for k in set(raw) - set(fields))
    if unknown:
        raise error(f"{source}: {where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    prefix = f"{where}." if where else ""
    return {name: check_value(value, hints[name], f"{prefix}{name}", source, error, fields[name].metadata)
            for name, value in raw.items()}


def parameter_hints(function: Any) -> dict[str, Any]:
    """The type hints of a callable's parameters (a model constructor's hyperparameters)."""
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no check
        return {}
    hints.pop("return", None)
    return hints
