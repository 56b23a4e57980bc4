"""Timeline events <-> MCAP messages: a topic, a JSON Schema and an encoder/decoder per event class, all derived from
the dataclass's type hints.

Why derived: the timeline's event types are many and still growing; a new frozen dataclass is recorded without any
code here, and the schema written into the file always matches what the encoder wrote. Field types supported:
bool, int, float, str, None, enums, `X | None`, tuples, lists, `dict[str, X]`, nested dataclasses, and numpy arrays
as an event's own fields (audio samples).

Encodings (docs/recording.md has the details):
- "json": a UTF-8 JSON object with the event's fields and `timeline_s`, the exact `Stamped.t_s` (the MCAP log
  time holds it only to the nanosecond; replay must give back the very float).
- "flutex.json+raw", for events with array fields: that JSON object, in which each array is
  {"dtype": "<f4", "shape": [256]}, then one newline byte, then each array's raw little-endian bytes in field order.
Non-finite floats are written as the strings "NaN", "Infinity" and "-Infinity": strict JSON has no such numbers.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

import numpy as np

from flutex.host.session.events import Stamped

TIMELINE_KEY = "timeline_s"
JSON_ENCODING = "json"
JSON_RAW_ENCODING = "flutex.json+raw"
SCHEMA_ENCODING = "jsonschema"
RAW_SEPARATOR = b"\n"  # compact JSON never holds a raw newline, so the first one ends the JSON part

_NON_FINITE = ("NaN", "Infinity", "-Infinity")
_FLOAT_SCHEMA = {"anyOf": [{"type": "number"}, {"enum": list(_NON_FINITE)}]}
_PLAIN = {bool: "boolean", int: "integer", str: "string", type(None): "null"}
_ARRAY_SCHEMA = {
    "type": "object",
    "description": "a numpy array: its raw little-endian bytes follow the JSON part",
    "properties": {"dtype": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}}},
    "required": ["dtype", "shape"],
}

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Shape:
    """How values of one type hint travel in JSON: its schema, and conversions (None: JSON holds the value as is)."""

    schema: dict[str, Any]
    encode: Convert | None = None
    decode: Convert | None = None


def _sequence_shape(items: _Shape, container: type) -> _Shape:
    schema = {"type": "array", "items": items.schema}
    encode = None if items.encode is None else (lambda value: [items.encode(item) for item in value])
    decode_item = items.decode
    decode = container if decode_item is None else (lambda value: container(decode_item(item) for item in value))
    return _Shape(schema, encode, decode)


def _fixed_tuple_shape(hints: tuple[Any, ...]) -> _Shape:
    items = [_shape(hint) for hint in hints]
    schema = {"type": "array", "prefixItems": [item.schema for item in items], "minItems": len(items)}
    schema["maxItems"] = len(items)
    encoders = [item.encode or _same for item in items]
    decoders = [item.decode or _same for item in items]

    def encode(value: Any) -> list[Any]:
        return [convert(item) for convert, item in zip(encoders, value, strict=True)]

    def decode(value: Any) -> tuple[Any, ...]:
        return tuple(convert(item) for convert, item in zip(decoders, value, strict=True))

    return _Shape(schema, encode if any(item.encode for item in items) else None, decode)


def _dict_shape(key: Any, value: Any) -> _Shape:
    if key is not str and key is not Any:
        raise TypeError(f"JSON objects have string keys: cannot record a dict keyed by {key!r}")
    values = _shape(value)
    schema = {"type": "object", "additionalProperties": values.schema}
    encode = None if values.encode is None else (lambda d: {k: values.encode(v) for k, v in d.items()})
    decode = None if values.decode is None else (lambda d: {k: values.decode(v) for k, v in d.items()})
    return _Shape(schema, encode, decode)


def _union_shape(hints: tuple[Any, ...]) -> _Shape:
    schema = {"anyOf": [_shape(hint).schema for hint in hints]}
    others = [hint for hint in hints if hint is not type(None)]
    if len(others) == 1:
        inner = _shape(others[0])
        encode = None if inner.encode is None else (lambda v: None if v is None else inner.encode(v))
        decode = None if inner.decode is None else (lambda v: None if v is None else inner.decode(v))
        return _Shape(schema, encode, decode)
    if all(hint in _PLAIN or hint is float for hint in others):
        return _Shape(schema)  # numbers and strings come back as JSON gives them
    raise TypeError(f"cannot record a union of several structured types: {hints!r}")


def _enum_shape(cls: type[enum.Enum]) -> _Shape:
    return _Shape({"enum": [member.value for member in cls]}, lambda member: member.value, cls)


def _dataclass_shape(cls: type) -> _Shape:
    hints = get_type_hints(cls)
    fields = [(field.name, _shape(hints[field.name])) for field in dataclasses.fields(cls) if field.init]
    schema = {
        "type": "object",
        "title": cls.__name__,
        "properties": {name: shape.schema for name, shape in fields},
        "required": [name for name, _ in fields],
    }
    names = [name for name, _ in fields]
    encoders = [(name, shape.encode) for name, shape in fields if shape.encode]
    decoders = [(name, shape.decode or _same) for name, shape in fields]

    def encode(value: Any) -> dict[str, Any]:
        encoded = {name: getattr(value, name) for name in names}
        for name, convert in encoders:
            encoded[name] = convert(encoded[name])
        return encoded

    def decode(value: dict[str, Any]) -> Any:
        return cls(**{name: convert(value[name]) for name, convert in decoders})

    return _Shape(schema, encode, decode)


def _shape(hint: Any) -> _Shape:
    """The JSON shape of a type hint; a TypeError names the hint that cannot be recorded."""
    if hint in _PLAIN:
        return _Shape({"type": _PLAIN[hint]})
    if hint is float:
        return _Shape(_FLOAT_SCHEMA, decode=float)
    if hint is Any:
        return _Shape({})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_shape(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_shape(hint)
    origin, arguments = get_origin(hint) or hint, get_args(hint)
    if origin in (Union, types.UnionType):
        return _union_shape(arguments)
    if origin is tuple:
        if not arguments or arguments[-1] is Ellipsis:
            return _sequence_shape(_shape(arguments[0] if arguments else Any), tuple)
        return _fixed_tuple_shape(arguments)
    if origin is list:
        return _sequence_shape(_shape(arguments[0] if arguments else Any), list)
    if origin is dict:
        return _dict_shape(*(arguments or (str, Any)))
    if origin is np.ndarray:
        raise TypeError("numpy arrays are recorded only as an event's own fields, not nested in others")
    raise TypeError(f"cannot record a field of type {hint!r}")


def _same(value: Any) -> Any:
    return value


def _is_array(hint: Any) -> bool:
    return (get_origin(hint) or hint) is np.ndarray


def _finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by its string name."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _numpy_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(value: Any) -> bytes:
    """Compact, strict JSON (non-finite floats as strings, numpy scalars as numbers)."""
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"), default=_numpy_scalar)
    except ValueError:  # a NaN or an infinity somewhere: the rare, slower path
        text = json.dumps(_finite(value), allow_nan=False, separators=(",", ":"), default=_numpy_scalar)
    return text.encode()


def dataclass_to_json(value: Any) -> str:
    """A dataclass instance (such as BoardInfo, for the recording's metadata) as JSON text."""
    shape = _dataclass_shape(type(value))
    assert shape.encode is not None
    return to_json(shape.encode(value)).decode()


def dataclass_from_json(cls: type, text: str) -> Any:
    shape = _dataclass_shape(cls)
    assert shape.decode is not None
    return shape.decode(json.loads(text))


def topic_of(cls: type) -> str:
    """The channel's topic: the class name in snake case (`FluteSample` -> "/flute_sample")."""
    return "/" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


class EventCodec:
    """How one event class travels as MCAP messages on its own channel."""

    def __init__(self, cls: type) -> None:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise TypeError(f"only dataclass events can be recorded, not {cls!r}")
        hints = get_type_hints(cls)
        names = [field.name for field in dataclasses.fields(cls) if field.init]
        if TIMELINE_KEY in names:
            raise TypeError(f"{cls.__name__} has a field named {TIMELINE_KEY!r}, which the recording reserves")
        self.cls = cls
        self.name = cls.__name__
        self.topic = topic_of(cls)
        self._arrays = [name for name in names if _is_array(hints[name])]
        self._fields = [(name, _shape(hints[name])) for name in names if name not in self._arrays]
        self.encoding = JSON_RAW_ENCODING if self._arrays else JSON_ENCODING
        properties = {TIMELINE_KEY: {"type": "number", "description": "seconds on the session timeline"}}
        properties |= {name: shape.schema for name, shape in self._fields}
        properties |= {name: _ARRAY_SCHEMA for name in self._arrays}
        self.schema = to_json(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": self.name,
                "description": (cls.__doc__ or "").strip(),
                "type": "object",
                "properties": properties,
                "required": list(properties),
            }
        )
        self._plain = [name for name, shape in self._fields if shape.encode is None]
        self._encoders = [(name, shape.encode) for name, shape in self._fields if shape.encode]
        self._decoders = [(name, shape.decode or _same) for name, shape in self._fields]
        # a field added to an event after a recording was made takes its default there (a field with none is damage)
        self._defaults = {
            field.name: field.default for field in dataclasses.fields(cls) if field.default is not dataclasses.MISSING
        }

    def encode(self, stamped: Stamped) -> bytes:
        event = stamped.event
        message: dict[str, Any] = {TIMELINE_KEY: stamped.t_s}
        for name in self._plain:
            message[name] = getattr(event, name)
        for name, convert in self._encoders:
            message[name] = convert(getattr(event, name))
        if not self._arrays:
            return to_json(message)
        arrays = [np.asarray(getattr(event, name)) for name in self._arrays]
        arrays = [array.astype(array.dtype.newbyteorder("<"), copy=False) for array in arrays]
        for name, array in zip(self._arrays, arrays, strict=True):
            message[name] = {"dtype": array.dtype.str, "shape": list(array.shape)}
        return b"".join([to_json(message), RAW_SEPARATOR, *(np.ascontiguousarray(array).data for array in arrays)])

    def decode(self, data: bytes) -> Stamped:
        """The Stamped event in `data`; raises ValueError (or KeyError/TypeError) when `data` does not fit."""
        text, _, raw = data.partition(RAW_SEPARATOR) if self._arrays else (data, b"", b"")
        message = json.loads(text)
        values = {
            name: convert(message[name]) if name in message or name not in self._defaults else self._defaults[name]
            for name, convert in self._decoders
        }
        offset = 0
        for name in self._arrays:
            dtype, shape = np.dtype(message[name]["dtype"]), tuple(message[name]["shape"])
            count = math.prod(shape)
            values[name] = np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape)
            offset += count * dtype.itemsize
        if offset != len(raw):
            raise ValueError(f"{self.name}: {len(raw) - offset} raw bytes left over after the arrays")
        return Stamped(float(message[TIMELINE_KEY]), self.cls(**values))


def codecs_by_name(event_types: Iterable[type]) -> dict[str, EventCodec]:
    """Codecs for reading, keyed by schema name (the class name); two classes of one name would be ambiguous."""
    codecs: dict[str, EventCodec] = {}
    for cls in event_types:
        if cls.__name__ in codecs and codecs[cls.__name__].cls is not cls:
            raise TypeError(f"two event types are named {cls.__name__}: a recording could not tell them apart")
        codecs[cls.__name__] = EventCodec(cls)
    return codecs
