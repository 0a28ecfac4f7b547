"""Run files: results written atomically (a reader never sees a half-written file, a crash never destroys a
finished one), with the permissions the user's umask asks for, and never over a result this run did not produce;
a run's own checkpoints read back with a clear error when they are damaged."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ftd_nas.errors import ConfigError, FtdNasError, InputError, disk_full, disk_full_error

NEARLY_FULL = 1 << 20  # bytes: a folder with less free space than this counts as on a full disk


def _file_mode() -> int:
    """0o666 minus the process umask: what open() would give a new file (mkstemp's files are 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _on_full_disk(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL
    except OSError:
        return False


@contextmanager
def disk_full_as_error(path: str | os.PathLike) -> Iterator[None]:
    """Turn a full disk or quota met while writing `path` into a `DiskFullError` naming it, however the writer
    reported it: an OSError, safetensors' "os error 28", or torch.save's "unexpected pos" (whose cause is lost,
    so a writer's failure with the folder's disk (nearly) full counts as a full disk too)."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, FtdNasError) or not (disk_full(exc) or _on_full_disk(Path(path).parent)):
            raise
        raise disk_full_error(exc, str(path)) from exc


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed over `path`. A full disk while
    writing is a `DiskFullError` naming `path`, and leaves `path` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with disk_full_as_error(path):
            yield tmp_path
            os.chmod(tmp_path, _file_mode())  # shared group folders on clusters rely on the umask
            with open(tmp_path, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _sanitise(obj: Any) -> Any:
    """Replace non-finite floats by None so the JSON stays standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _sanitise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitise(v) for v in obj]
    return obj


def json_text(obj: Any) -> str:
    # through the default once, so dataclasses nested in lists are sanitised too
    plain = json.loads(json.dumps(obj, default=_json_default))
    return json.dumps(_sanitise(plain), indent=2) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json_text(obj))


def create_json_once(path: str | os.PathLike, obj: Any) -> bool:
    """Create `path` with `obj` unless it exists; True if this call created it.

    Exactly one of several processes racing to create the file wins (a hard link fails when the name exists,
    also on NFS), and the file appears complete or not at all.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with disk_full_as_error(path), os.fdopen(fd, "w") as fh:
            fh.write(json_text(obj))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def refuse_overwrite(path: str | os.PathLike, overwrite: bool, what: str = "result") -> None:
    """A finished result this run did not produce is replaced only when the user says --overwrite."""
    if not overwrite and Path(path).exists():
        raise ConfigError(f"{str(path)!r} exists (a {what} written earlier); pass --overwrite to replace it, "
                          "or choose another output path")


def write_result_json(path: str | os.PathLike, obj: Any, overwrite: bool = False) -> None:
    """`--json OUT`: write the result, refusing to replace an existing file without `overwrite`."""
    refuse_overwrite(path, overwrite, "JSON result")
    write_json(path, obj)


def load_checkpoint(path: Path, *keys: str) -> dict:
    """A run's own torch checkpoint (tensors and plain data only), or an error saying what to do."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated by a full disk or a crash during a copy, or not a checkpoint at all
        raise InputError(f"the checkpoint {str(path)!r} is unreadable (truncated or corrupt?): {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}. Delete it to start that run over") from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise InputError(f"the checkpoint {str(path)!r} lacks {missing}; delete it to start that run over")
    return state
