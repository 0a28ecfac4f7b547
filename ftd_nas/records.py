"""Typed records: dataclasses that convert to and from plain JSON data, checking every field on the way in.

A `Part` is any stored dataclass (a configuration, a data fingerprint); a `Record` is the whole metadata of
one file kind, with a format name and version. Older versions are upgraded in memory by the record's
`UPGRADES` table and never written back. `diff_settings` is the one answer to "same settings?".
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from pathlib import PurePath
from typing import Any, Callable, ClassVar, TypeVar, Union

from ftd_nas.checks import is_whole
from ftd_nas.errors import FtdNasError, InputError

R = TypeVar("R", bound="Part")
RUNTIME_ONLY = {"stored": False}  # field metadata: not part of a stored record (display, not results)


class RecordError(InputError):
    """A stored file's metadata is malformed, of another kind, or of a format version this ftd-nas cannot read."""


def stored_fields(cls) -> list:
    """The dataclass fields that are part of the stored record (runtime-only fields say `stored: False`)."""
    return [f for f in fields(cls) if f.init and f.metadata.get("stored", True)]


def _hints(cls) -> dict:
    cached = cls.__dict__.get("_type_hints")
    if cached is None:
        cached = typing.get_type_hints(cls)
        setattr(cls, "_type_hints", cached)
    return cached


def _is_float_hint(hint: Any) -> bool:
    return hint is float or (typing.get_origin(hint) in (Union, types.UnionType)
                             and float in typing.get_args(hint) and int not in typing.get_args(hint))


def _plain(value: Any) -> Any:
    if isinstance(value, Part):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _convert(value: Any, hint: Any, where: str) -> Any:
    """`value` as the type `hint` says, or a RecordError naming the field."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for i, option in enumerate(options):
            try:
                return _convert(value, option, where)
            except RecordError:
                if i == len(options) - 1:
                    raise
    if isinstance(hint, type) and issubclass(hint, Part):
        return hint.from_dict(value, where)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and is_whole(value):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if (origin is list or hint is list) and isinstance(value, list):
        return [_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else list(value)
    if origin is tuple and isinstance(value, (list, tuple)):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) == len(args):
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if (origin is dict or hint is dict) and isinstance(value, dict):
        if not args:
            return dict(value)
        return {k: _convert(v, args[1], f"{where}.{k}") for k, v in value.items()}
    raise RecordError(f"{where}: expected {_type_name(hint)}, got {type(value).__name__} {value!r:.60}")


class Part:
    """Mixin for stored dataclasses: `to_dict()` gives JSON data, `from_dict()` checks and converts it back."""

    def to_dict(self) -> dict:
        """Plain JSON data; a float field holding an int (a preset's `100`) comes out as a float, so that two
        equal records always give the same text (and the same digest)."""
        hints, out = _hints(type(self)), {}
        for f in stored_fields(self):
            value = getattr(self, f.name)
            if _is_float_hint(hints[f.name]) and is_whole(value):
                value = float(value)
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_dict(cls: type[R], data: Any, where: str | None = None) -> R:
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise RecordError(f"{where}: expected a mapping, got {type(data).__name__}")
        known = {f.name: f for f in stored_fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise RecordError(f"{where}: unknown fields {unknown}")
        hints = _hints(cls)
        kwargs = {}
        for name, f in known.items():
            if name in data:
                kwargs[name] = _convert(data[name], hints[name], f"{where}.{name}")
            elif f.default is MISSING and f.default_factory is MISSING:
                raise RecordError(f"{where}: field {name!r} is missing")
        try:
            return cls(**kwargs)
        except (FtdNasError, ValueError, TypeError) as exc:  # the dataclass's own validation
            raise RecordError(f"{where}: {exc}") from None


class Record(Part):
    """The metadata of one file kind: a format name, a version, and upgrades from every older version."""

    FORMAT: ClassVar[str] = ""
    VERSION: ClassVar[int] = 2
    # version v -> function turning a v body (without format keys) into a v+1 body
    UPGRADES: ClassVar[dict[int, Callable[[dict], dict]]] = {}

    def to_dict(self) -> dict:
        return {"format": self.FORMAT, "format_version": self.VERSION, **super().to_dict()}

    @classmethod
    def from_dict(cls: type[R], data: Any, where: str | None = None) -> R:
        where = where or cls.FORMAT
        if not isinstance(data, dict) or data.get("format") != cls.FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise RecordError(f"{where} is not an {cls.FORMAT} record (its format is {found!r})")
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= cls.VERSION:
            raise RecordError(f"{where} has {cls.FORMAT} format version {version!r}; this ftd-nas reads versions "
                              f"1 to {cls.VERSION}: it was written by a newer ftd-nas, upgrade to read it")
        body = {k: v for k, v in data.items() if k not in ("format", "format_version")}
        try:
            while version < cls.VERSION:
                body = cls.UPGRADES[version](body)
                version += 1
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise RecordError(f"{where}: malformed format-v{version} metadata ({type(exc).__name__}: {exc})") from None
        return super().from_dict(body, where)


def diff_settings(stored: dict, requested: dict, prefix: str = "") -> list[str]:
    """Every setting that differs, as 'path: stored vs requested'.

    A key present on one side only is not compared: it is a setting an older file did not record
    (its fingerprint has no content hash, say), and refusing every old file for it would help no one.
    """
    out = []
    for key in sorted(set(stored) & set(requested)):
        a, b = stored[key], requested[key]
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff_settings(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} vs {b!r}")
    return out


def format_diff(diff: list[str], limit: int = 6) -> str:
    """The differences for a message: the first few, then how many more."""
    shown = "; ".join(diff[:limit])
    return shown + (f"; and {len(diff) - limit} more" if len(diff) > limit else "")


def folder_label(path: str) -> str:
    """A folder's name for provenance: never a full path, which another machine could not use anyway."""
    return PurePath(str(path).rstrip("/")).name
