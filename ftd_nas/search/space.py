"""Search spaces: YAML files listing values per ConvNet axis plus fixed settings.

    name: convnet
    description: DC's 720-ConvNet NAS space
    axes:
      depth: [1, 2, 3, 4]
      width: [32, 64, 128, 256]
      act: [sigmoid, relu, leakyrelu]
      norm: [none, batchnorm, layernorm, instancenorm, groupnorm]
      pool: [none, maxpool, avgpool]
    fixed: {}          # optional: any axis pinned to one value

Candidates are enumerated in a fixed order (the product of the axes as listed) and named by a stable id.
Invalid files get an error naming the file, line and what is wrong.
"""

from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from ftd_nas.errors import ConfigError, InputError
from ftd_nas.models import ACT_LAYERS, NORM_LAYERS, POOL_LAYERS

def _spaces_dir() -> Path:
    """search_spaces/: $FTD_NAS_SPACES, the source checkout's, or the copy a regular install puts in share/."""
    candidates = [os.environ.get("FTD_NAS_SPACES"), Path(__file__).resolve().parents[2] / "search_spaces",
                  Path(sys.prefix) / "share" / "ftd-nas" / "search_spaces"]
    return next((Path(c) for c in candidates if c and Path(c).is_dir()), Path(candidates[1]))


SPACES_DIR = _spaces_dir()
AXES = {  # axis -> check of one value (None when valid, else what is wrong)
    "depth": lambda v: None if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 8
    else "must be an integer from 1 to 8",
    "width": lambda v: None if isinstance(v, int) and not isinstance(v, bool) and v >= 1
    else "must be a positive integer",
    "act": lambda v: None if v in ACT_LAYERS else f"must be one of {', '.join(ACT_LAYERS)}",
    "norm": lambda v: None if v in NORM_LAYERS else f"must be one of {', '.join(NORM_LAYERS)}",
    "pool": lambda v: None if v in POOL_LAYERS else f"must be one of {', '.join(POOL_LAYERS)}",
}
TOP_KEYS = {"name", "description", "axes", "fixed"}


def candidate_id(params: dict) -> str:
    return f"d{params['depth']}-w{params['width']}-{params['act']}-{params['norm']}-{params['pool']}"


@dataclass(frozen=True)
class SearchSpace:
    name: str
    axes: dict[str, list]  # every axis of AXES, in file order, fixed ones as one-value lists
    description: str = ""
    source: str = ""

    def candidates(self) -> list[dict]:
        names = list(self.axes)
        return [dict(zip(names, values)) for values in itertools.product(*self.axes.values())]

    def __len__(self) -> int:
        n = 1
        for values in self.axes.values():
            n *= len(values)
        return n

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "axes": self.axes}


def _line(node) -> str:
    return f"line {node.start_mark.line + 1}"


def parse_space(text: str, source: str = "<string>") -> SearchSpace:
    """Parse and validate a space file's text; errors name `source` and the line."""
    where = f"search space {source}"
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"{where}: invalid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise InputError(f"{where}: expected a mapping with 'axes' (and optionally name, description, fixed)")
    data = yaml.safe_load(text)
    keys = {k.value: (k, v) for k, v in root.value}
    for key, (knode, _) in keys.items():
        if key not in TOP_KEYS:
            raise InputError(f"{where}, {_line(knode)}: unknown key {key!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    if "axes" not in keys:
        raise InputError(f"{where}: no 'axes' mapping (axis -> list of values)")
    axes_node = keys["axes"][1]
    if not isinstance(axes_node, yaml.MappingNode):
        raise InputError(f"{where}, {_line(axes_node)}: 'axes' must map axis names to lists of values")
    fixed_node = keys.get("fixed", (None, None))[1]
    if fixed_node is not None and not isinstance(fixed_node, yaml.MappingNode) and data.get("fixed") is not None:
        raise InputError(f"{where}, {_line(fixed_node)}: 'fixed' must map axis names to single values")
    axes: dict[str, list] = {}
    fixed_items = [] if fixed_node is None or data.get("fixed") is None else fixed_node.value
    for knode, vnode in list(axes_node.value) + list(fixed_items):
        axis, in_fixed = knode.value, any(knode is k for k, _ in fixed_items)
        if axis not in AXES:
            raise InputError(f"{where}, {_line(knode)}: unknown axis {axis!r}; axes are {', '.join(AXES)}")
        if axis in axes:
            raise InputError(f"{where}, {_line(knode)}: axis {axis!r} is given twice")
        values = (data["fixed"] if in_fixed else data["axes"])[axis]
        values = [values] if in_fixed else values
        if not isinstance(values, list):
            raise InputError(f"{where}, {_line(vnode)}: axis {axis!r} must list its values, e.g. [1, 2]")
        if not values:
            raise InputError(f"{where}, {_line(vnode)}: axis {axis!r} has no values")
        for i, value in enumerate(values):
            problem = AXES[axis](value)
            if problem:
                node = vnode.value[i] if isinstance(vnode, yaml.SequenceNode) else vnode
                raise InputError(f"{where}, {_line(node)}: {axis} value {value!r} {problem}")
        if len(set(map(str, values))) != len(values):
            raise InputError(f"{where}, {_line(vnode)}: axis {axis!r} repeats a value")
        axes[axis] = values
    missing = [a for a in AXES if a not in axes]
    if missing:
        raise InputError(f"{where}: axes {missing} are missing; list them under 'axes' or pin them under 'fixed'")
    space = SearchSpace(name=str(data.get("name") or Path(source).stem), axes={a: axes[a] for a in AXES},
                        description=str(data.get("description") or ""), source=source)
    for params in space.candidates():
        if params["norm"] == "groupnorm" and params["width"] % 4:
            raise InputError(f"{where}: groupnorm uses 4 groups, so every width must be a multiple of 4 "
                              f"(got {params['width']})")
    return space


def available_spaces(directory: Path = SPACES_DIR) -> dict[str, Path]:
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))}


def load_space(name_or_path: str, directory: Path = SPACES_DIR) -> SearchSpace:
    """A space by name (a file in search_spaces/) or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        spaces = available_spaces(directory)
        if name_or_path not in spaces:
            raise ConfigError(f"unknown search space {name_or_path!r}; available: {', '.join(spaces) or 'none'} "
                              f"(in {directory}), or give a path to a .yaml file")
        path = spaces[name_or_path]
    if not path.is_file():
        raise InputError(f"search space file {str(path)!r} does not exist (--space)")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"search space file {str(path)!r} is unreadable: {exc}") from None
    return parse_space(text, str(path))
