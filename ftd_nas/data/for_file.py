"""The real data a stored file was made from: the one place that loads it and checks it.

A proxy, an expert folder, a search run or an evaluation records the fingerprint of its real data but never its
location, so every command that reads such a file loads the data from a location the caller names, with the
file's preprocessing (ZCA, validation split), and refuses data whose fingerprint differs, always with the same
message (`DataFingerprint.check`).
"""

from __future__ import annotations

import torch

from ftd_nas.data.fingerprint import DataFingerprint
from ftd_nas.data.loader import DataConfig, Dataset


def fingerprint_of(source) -> DataFingerprint:
    """The data fingerprint of a file or its record: a `DataFingerprint` itself, a record with `.data` (proxy,
    experts, evaluation, weights) or `.identity.data` (search run), or a loaded file with such a `.record`."""
    for candidate in (source, getattr(source, "record", None)):
        if isinstance(candidate, DataFingerprint):
            return candidate
        for found in (getattr(candidate, "data", None), getattr(getattr(candidate, "identity", None), "data", None)):
            if isinstance(found, DataFingerprint):
                return found
    raise TypeError(f"{type(source).__name__} records no data fingerprint")


def real_data_for(source, dataset: str | None, data_root: str = "data", device: torch.device | str = "cpu", *,
                  what: str = "this file", loaded: dict[DataConfig, Dataset] | None = None) -> Dataset:
    """Load the real data `source` (a file, its record or its fingerprint; see `fingerprint_of`) was made from.

    `dataset` and `data_root` say where it is (never a location stored in the file; None refuses, naming the
    --dataset option that would fit); the preprocessing is the file's; the loaded data's fingerprint must equal
    the file's. `what` names the file in messages. `loaded` shares one load between files made from the same data.
    """
    expected = fingerprint_of(source)
    config = expected.data_config(dataset, data_root, what)
    data = loaded.get(config) if loaded is not None else None
    if data is None:
        data = config.load(device)
        if loaded is not None:
            loaded[config] = data
    expected.check(data.fingerprint(), what)
    return data
