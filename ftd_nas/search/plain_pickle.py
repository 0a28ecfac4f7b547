"""Pickles received from elsewhere, read as plain data without running any of their code.

A pickle can name any importable callable and have it called while it loads (`os.system`, `open`, ...), so a
file from a benchmark's download page is as dangerous as a script from it. `load_plain` reads one with an
unpickler that resolves no global at all: dicts, lists, tuples, sets, strings, bytes, numbers, booleans and None
are built by the pickle machine itself, without a lookup; every global a pickle names is refused with
`PlainPickleError`, except the few names below, which the benchmark files users have do contain and which are
answered by inert stand-ins defined here (nothing is imported, nothing of theirs runs):

- `collections.OrderedDict` -> the built-in dict (the same items, in the same order);
- builtins `set` and `frozenset` (how protocols 2 and 3 write sets) -> themselves;
- `_codecs.encode` (how protocol 2 writes bytes: `encode(text, "latin1")`) -> a stand-in that does exactly that
  and refuses any other encoding;
- numpy's scalar and dtype (NATS-Bench stores parameter counts as numpy floats) -> `Opaque`, an object that keeps
  its name and drops its arguments, so such a field reads as "not plain data": an error wherever a caller needs
  its value, and no numpy code runs.
"""

from __future__ import annotations

import bz2
import io
import pickle
from pathlib import Path

from ftd_nas.errors import InputError

MAX_BYTES = 256 << 20  # a decompressed file larger than this is refused (a bz2 bomb, not a benchmark record)


class PlainPickleError(InputError):
    """A pickle holds something other than plain data, or is not a readable pickle at all."""


class Opaque:
    """A value the file stores as an object of a library ftd-nas does not run (a numpy scalar): its name only."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __setstate__(self, state) -> None:  # a BUILD of the stored object: its state is dropped unread
        pass

    def __repr__(self) -> str:
        return f"<{self.name}: not plain data>"


def _opaque(name: str):
    def stand_in(*args, **kwargs) -> Opaque:  # called by REDUCE or NEWOBJ in place of the named class
        return Opaque(name)

    return stand_in


def _latin1(text, encoding="latin1") -> bytes:
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): protocol 2 "
                                     "writes bytes as latin1 text only")
    return text.encode("latin1")


STAND_INS = {("collections", "OrderedDict"): dict,
             **{(m, kind.__name__): kind for m in ("builtins", "__builtin__") for kind in (set, frozenset)},
             **{(m, "scalar"): _opaque(f"{m}.scalar") for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
             ("numpy", "dtype"): _opaque("numpy.dtype"), ("_codecs", "encode"): _latin1}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        found = STAND_INS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: only plain data (dicts, lists, tuples, sets, "
                                         "strings, bytes, numbers, booleans, None) is read from this file, and no "
                                         "code it names is run")
        return found

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent reference: only plain data is read from this file")


def loads_plain(data: bytes, where: str) -> object:
    """The plain data a pickle holds; `PlainPickleError` naming `where` for anything else."""
    try:
        return _PlainUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # a refused global, a truncated file, or not a pickle at all: never a crash
        raise PlainPickleError(f"{where} is not a plain-data pickle ftd-nas can read safely: "
                               f"{type(exc).__name__}: {exc}") from None


def load_plain_bz2(path: Path) -> object:
    """A bz2-compressed pickle (NATS-Bench's `*.pickle.pbz2`) as plain data, refused past MAX_BYTES unpacked."""
    try:
        with bz2.open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise PlainPickleError(f"{str(path)!r} is not a readable bz2 file: {exc}") from None
    if len(data) > MAX_BYTES:
        raise PlainPickleError(f"{str(path)!r} unpacks to more than {MAX_BYTES >> 20} MiB: not a benchmark record")
    return loads_plain(data, repr(str(path)))
