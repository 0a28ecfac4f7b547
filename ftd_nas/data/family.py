"""Dataset families: whether a run's data may be compared with measurements published for a dataset.

A benchmark table (NAS-Bench-201's) was measured by its publisher on the full, standard version of a dataset; a
search here may score its candidates on a subset or a copy of that dataset (`npz:cifar10_subset.npz`). Rankings
on the two can be compared, numbers cannot be expected to match: both belong to one *family*. The rule is explicit
and uses only what a data fingerprint records:

- A named dataset (`cifar10`, `digits`: read by ftd-nas's own reader from the official files) is of the family of
  its name, provided its class names are the family's where ftd-nas knows them (`KNOWN_CLASSES`).
- Data from a file or folder (`npz:`, `folder:`) is of a family only by its class names: in label order exactly
  those of a family in `KNOWN_CLASSES` (CIFAR-10's ten: the subset in ../shared/datasets records them). Its file name
  is no evidence: anything can be called cifar10.npz, and a file whose labels mean other classes must not be judged
  against CIFAR-10's table.
- Otherwise the data has no family, and nothing published is comparable with it.

A new family whose copies should be recognised is one entry of `KNOWN_CLASSES`.
"""

from __future__ import annotations

import re

from ftd_nas.data.fingerprint import PATH_PREFIXES, DataFingerprint

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# family -> its class names in label order, as the official files give them
KNOWN_CLASSES: dict[str, tuple[str, ...]] = {"cifar10": CIFAR10_CLASSES}
FAMILY_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")  # how a table declares its family (lower case, no location)
RULE = ("a named dataset is of the family of its name; data from a file or folder only by its class names, which "
        "must be those of a family ftd-nas knows (" + ", ".join(KNOWN_CLASSES) + ")")


def dataset_family(data: DataFingerprint) -> tuple[str | None, str]:
    """The family of the data `data` describes (None: none) and why, in words for a report or a refusal."""
    prefix, sep, _ = data.name.partition(":")
    classes = tuple(data.classes) if data.classes is not None else None
    if not (sep and prefix in PATH_PREFIXES):
        known = KNOWN_CLASSES.get(data.name)
        if known is not None and classes is not None and classes != known:
            return None, f"{data.name} names the family {data.name}, but its class names are not that family's"
        return data.name, f"the named dataset {data.name}"
    for family, known in KNOWN_CLASSES.items():
        if classes == known:
            return family, f"{data.name}, whose {len(known)} class names are {family}'s"
    shown = "not recorded" if classes is None else ", ".join(classes[:4]) + (", ..." if len(classes) > 4 else "")
    return None, f"{data.name}, whose class names ({shown}) are no known family's"
