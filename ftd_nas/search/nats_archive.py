"""NATS-Bench's own archive, as its users have it: the topology space's `NATS-tss-v1_0-3ffb9-simple/` folder.

The layout, from the benchmark's API (github.com/D-X-Y/NATS-Bench, nats_bench/api_topology.py and api_utils.py):

- `meta.pickle.pbz2`: {"meta_archs": [the cell string of architecture i, ...], "total_archs": 15625, ...};
- `NNNNNN.pickle.pbz2`, one per architecture index: {hp: results} with hp "12" or "200" (training epochs), and
  results {"arch_index": i, "arch_str": the cell string, "dataset_seed": {dataset: [seeds]}, "all_results":
  {(dataset, seed): {"epochs": E, "eval_acc1es": {"SPLIT@EPOCH": accuracy in percent, ...}, ...}}}; datasets are
  "cifar10" (trained on its train + valid sets), "cifar10-valid", "cifar100", "ImageNet16-120".

An architecture's accuracy is what the API's `get_more_info(index, dataset, hp=hp, is_random=False)` reports: the
split's accuracy after the last epoch (`SPLIT@{E-1}`), averaged over the dataset's seeds; the test accuracy of
CIFAR-10 after 200 epochs is hp "200", dataset "cifar10", split "ori-test" (the CSV in ../shared/datasets holds
the same numbers). Every file is bz2-compressed pickle and is read with `plain_pickle` only: no code in it runs.
Only the files of this folder named as above are read; no path stored in a file is followed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from pathlib import Path

from ftd_nas.errors import InputError
from ftd_nas.progress import progress
from ftd_nas.plain_pickle import load_plain_bz2
from ftd_nas.search.table_sources import TableEntry, TableSource, file_sha256

log = logging.getLogger(__name__)
META = "meta.pickle.pbz2"
ARCH_FILE = re.compile(r"(\d+)\.pickle\.pbz2")  # the API's names: {index:06d}, or {index:d}
ID_KEY = "arch_str"


def accuracy_key(hp: str, dataset: str, split: str) -> str:
    """The key path of the accuracies, as truth.json records it in place of a column."""
    return f"{hp}/{dataset}/{split}@last epoch, mean over seeds"


def _get(mapping, key, where: str, what: str):
    if not isinstance(mapping, dict) or key not in mapping:
        raise InputError(f"{where}: no {what} (key {key!r}); is this a NATS-Bench topology archive "
                         "(NATS-tss-v1_0-3ffb9-simple)?")
    return mapping[key]


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where} is {value!r}, not a finite number")
    return float(value)


def arch_accuracy(data, index: int, hp: str, dataset: str, split: str, where: str) -> tuple[str, float]:
    """(cell string, accuracy) of one architecture file's plain data (see the module docstring)."""
    results = _get(data, hp, where, f"results after {hp} epochs")
    if _get(results, "arch_index", where, "architecture index") != index:
        raise InputError(f"{where} holds architecture {results['arch_index']!r}, not {index} as its name says")
    arch = _get(results, ID_KEY, where, "architecture string")
    if not isinstance(arch, str) or not arch:
        raise InputError(f"{where}: the architecture string is {arch!r}, not a string")
    seeds = _get(_get(results, "dataset_seed", where, "seeds per dataset"), dataset, where, f"seeds of {dataset}")
    if not isinstance(seeds, list) or not seeds:
        raise InputError(f"{where}: the seeds of {dataset} are {seeds!r}, not a list of seeds")
    values = []
    for seed in seeds:
        run = _get(_get(results, "all_results", where, "results"), (dataset, seed), where,
                   f"result of {dataset} seed {seed!r}")
        epochs = _get(run, "epochs", where, "epoch count")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise InputError(f"{where}: the epoch count of {dataset} seed {seed!r} is {epochs!r}")
        key = f"{split}@{epochs - 1}"
        values.append(_number(_get(_get(run, "eval_acc1es", where, "accuracies"), key, where,
                                   f"{split} accuracy of {dataset} seed {seed!r}"),
                              f"{where}: the {key} accuracy of {dataset} seed {seed!r}"))
    return arch, sum(values) / len(values)


def read_nats_archive(folder: str | Path, hp: str = "200", dataset: str = "cifar10", split: str = "ori-test",
                      show_progress: bool | None = None) -> tuple[list[TableEntry], TableSource]:
    """One entry per architecture file of a NATS-Bench topology archive folder (accuracies in percent, as stored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"the archive {str(folder)!r} is not a folder (--archive names the benchmark's "
                         "NATS-tss-v1_0-3ffb9-simple folder)")
    files = sorted((int(m.group(1)), p) for p in folder.iterdir()
                   if (m := ARCH_FILE.fullmatch(p.name)) and p.is_file())
    if not files:
        raise InputError(f"the archive {str(folder)!r} holds no architecture files (NNNNNN.pickle.pbz2)")
    digest = hashlib.sha256()
    names = None
    meta_path = folder / META
    if meta_path.is_file():
        names = _get(load_plain_bz2(meta_path), "meta_archs", repr(str(meta_path)), "architecture list")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError(f"{str(meta_path)!r}: meta_archs is not a list of architecture strings")
        digest.update(f"{META} {file_sha256(meta_path)}\n".encode())
    entries, seen = [], {}
    for index, path in progress(files, desc="archive", enabled=show_progress):
        where = repr(str(path))
        if index in seen:
            raise InputError(f"{where} and {seen[index]!r} both hold architecture {index}")
        seen[index] = path.name
        arch, value = arch_accuracy(load_plain_bz2(path), index, hp, dataset, split, where)
        if names is not None and (index >= len(names) or names[index] != arch):
            raise InputError(f"{where} holds {arch!r}, but {META} lists "
                             f"{names[index] if index < len(names) else 'no architecture'!r} at index {index}")
        digest.update(f"{path.name} {file_sha256(path)}\n".encode())
        entries.append(TableEntry(arch, value, where))
    log.info("read %d architectures from the archive %s (%s)", len(entries), folder.name,
             accuracy_key(hp, dataset, split))
    return entries, TableSource(kind="nats-archive", name=folder.name, sha256=digest.hexdigest(), id_column=ID_KEY,
                                accuracy_column=accuracy_key(hp, dataset, split))
