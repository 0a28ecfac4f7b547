"""Where a received folder may make ftd-nas read or write: only inside itself. The one check for it.

A folder the user names on the command line (a run folder, the folder of a proxy file, an `--out` folder) is
theirs, wherever it lies, and may itself be a symbolic link. What ftd-nas then opens inside it, by a name of its
own (`run.json`, `study.db`, `PROXY.evals/`, `slurm/`) or by a name that a file in it records (the study file in
`run.json`), is checked by `inside` before it is read or written: the name is relative, has no `..`, and no part
of it below the folder, the file itself included, is a symbolic link. A link could point anywhere (another run's
database, a file of the user's), so it is refused, never followed: a folder copied from elsewhere cannot make a
command read or write outside it. The error names the link and its target and says what to do.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from ftd_nas.errors import InputError


def inside(folder: str | os.PathLike, name: str | os.PathLike, what: str, fix: str = "") -> Path:
    """`folder / name`, checked to stay inside `folder` (see the module's text); `what` names the file in the error
    (e.g. "the study file of run.json"), and `fix` replaces the default advice."""
    folder, relative = Path(folder), PurePath(name)
    where = f"{what} {str(folder / relative)!r}"
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise InputError(f"{where} is not a path inside {str(folder)!r}; ftd-nas reads and writes only inside the "
                         "folders it is given" + (f": {fix}" if fix else ""))
    path = folder
    for part in relative.parts:
        path = path / part
        if path.is_symlink():
            target = os.readlink(path)
            raise InputError(
                f"{where} is a symbolic link ({str(path)!r} -> {target!r}); ftd-nas does not follow links inside a "
                f"folder it is given, so that a folder from elsewhere cannot make it read or write outside "
                f"{str(folder)!r}: " + (fix or "replace the link by the file or folder itself, or name the target "
                                              "on the command line"))
    return path
