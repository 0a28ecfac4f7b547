"""Pickles received from elsewhere, read as data without running any of their code: the one restricted unpickler.

A pickle can name any importable callable and have it called while it loads (`os.system`, `open`, ...), so a
file from a benchmark's download page is as dangerous as a script from it. Every pickle ftd-nas reads goes through
`RestrictedUnpickler`, which resolves only the globals of one table and refuses every other one:

- `PLAIN` (`loads_plain`, NATS-Bench archives) resolves no real global at all: dicts, lists, tuples, sets, strings, bytes, numbers, booleans and None
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

- `ARRAYS` (CIFAR's python batches) adds numpy's array reconstruction: the arrays are the data there. numpy's
  constructors build an array from a dtype and a buffer and call nothing the file names.
"""

from __future__ import annotations

import bz2
import io
import pickle
from pathlib import Path

from ftd_nas.errors import InputError

PLAIN_DATA = "plain data (dicts, lists, tuples, sets, strings, bytes, numbers, booleans, None)"
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


_BUILTINS = ("builtins", "__builtin__")  # how protocols 3+ and 2 name them
_NUMPY_CORE = ("numpy.core", "numpy._core")  # numpy 1 and 2
REAL = object()  # a table's value: resolve the name itself (only numpy's array constructors are so admitted)

PLAIN = {("collections", "OrderedDict"): dict,
         **{(m, kind.__name__): kind for m in _BUILTINS for kind in (set, frozenset)},
         **{(f"{m}.multiarray", "scalar"): _opaque(f"{m}.multiarray.scalar") for m in _NUMPY_CORE},
         ("numpy", "dtype"): _opaque("numpy.dtype"), ("_codecs", "encode"): _latin1}
ARRAYS = {**{(m, kind.__name__): kind for m in _BUILTINS for kind in (set, frozenset, bytearray, complex)},
          **{(f"{m}.multiarray", n): REAL for m in _NUMPY_CORE for n in ("_reconstruct", "scalar")},
          **{(f"{m}.numeric", "_frombuffer"): REAL for m in _NUMPY_CORE},
          ("numpy", "ndarray"): REAL, ("numpy", "dtype"): REAL, ("_codecs", "encode"): _latin1}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves the globals of `table` (a stand-in, or REAL) and refuses every other one;
    `holds` says what the file may hold, for the refusal's message."""

    def __init__(self, file, table: dict, holds: str, **kwargs) -> None:
        super().__init__(file, **kwargs)
        self.table, self.holds = table, holds

    def find_class(self, module: str, name: str):
        found = self.table.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: only {self.holds} is read from this file, "
                                         "and no code it names is run")
        return super().find_class(module, name) if found is REAL else found

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(f"refusing a persistent reference: only {self.holds} is read from this file")


def loads_plain(data: bytes, where: str) -> object:
    """The plain data a pickle holds; `PlainPickleError` naming `where` for anything else."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), PLAIN, PLAIN_DATA).load()
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
