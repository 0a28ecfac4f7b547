"""Search spaces: YAML files listing values per axis of a model family, with conditions and constraints.

    name: convnet
    description: DC's 720-ConvNet NAS space
    model: convnet     # optional: convnet (default), alexnet, vgg11, resnet18, or a user's package.module:function
    axes:
      depth: [1, 2, 3, 4]
      width: [32, 64, 128, 256]
      act: [sigmoid, relu, leakyrelu]
      norm: [none, batchnorm, layernorm, instancenorm, groupnorm]
      pool: [none, maxpool, avgpool]
    fixed: {}          # optional: any axis pinned to one value
    unique: false      # optional: true keeps one candidate per isomorphism class (families that have a rule)
    sample: {size: 200, seed: 0}   # optional: a seeded sample of the candidates (after unique)
    conditions:        # optional: an axis that exists only for some values of others
      pool: {depth: [1, 2]}
    constraints:       # optional: candidates left out of the space
      max_params: 500000
      max_macs: 50000000
      exclude:
        - {depth: 4, pool: none}

A built-in family takes the axes its registry entry declares (`ftd_nas/models/families.py`: the ConvNet's are
depth, width, act, norm, pool, and a ConvNet space names all five; nb201's are its six edges and C, N); a user's
factory takes any axes, receives a candidate's parameters and the data's shape, and returns an nn.Module (see
`factories.py`). Candidates are enumerated in a fixed order (the product of the axes as listed, a conditional
axis only where its condition holds, excluded ones left out) and named by a stable id: the family's own when it
declares one (nb201: the benchmark's cell string), else the generic one. A family's settings (nb201's C and N)
take one value per space. `unique: true` keeps, of each isomorphism class by the family's rule, the candidate
with the smallest id (in Python's string order), in enumeration order. `sample` keeps `size` of the candidates
left, the first `size` of a permutation drawn from `seed` (numpy's default_rng), in enumeration order: samples of
one seed are nested, so a 200-cell sample lies inside the 1,000-cell sample of its seed. The parameter and
multiply-add limits depend on the data's shape, so they apply once it is known (`admissible`, after the sample).
Invalid files get an error naming the file, line and what is wrong.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from ftd_nas.errors import ConfigError, InputError
from ftd_nas.models.families import FAMILIES, SPEC_AXES, ModelFamily

def _spaces_dir() -> Path:
    """search_spaces/: $FTD_NAS_SPACES, the source checkout's, or the copy a regular install puts in share/."""
    candidates = [os.environ.get("FTD_NAS_SPACES"), Path(__file__).resolve().parents[2] / "search_spaces",
                  Path(sys.prefix) / "share" / "ftd-nas" / "search_spaces"]
    return next((Path(c) for c in candidates if c and Path(c).is_dir()), Path(candidates[1]))


SPACES_DIR = _spaces_dir()
TOP_KEYS = {"name", "description", "model", "axes", "fixed", "conditions", "constraints", "unique", "sample"}
CONSTRAINT_KEYS = {"max_params", "max_macs", "exclude"}
CONVNET_AXES = tuple(SPEC_AXES)


def candidate_id(params: dict, family: ModelFamily | None = None) -> str:
    """A stable name: the family's own form when it declares one; else the generic one, the ConvNet form for the
    five ConvNet axes (d1-w8-relu-none-avgpool) and axis=value pairs otherwise."""
    if family is not None and family.candidate_id is not None:
        return family.candidate_id(params)
    if tuple(params) == CONVNET_AXES:
        return f"d{params['depth']}-w{params['width']}-{params['act']}-{params['norm']}-{params['pool']}"
    return "-".join(f"{k}={v}" for k, v in params.items())


@dataclass(frozen=True)
class SearchSpace:
    name: str
    axes: dict[str, list]  # in file order, fixed ones as one-value lists
    description: str = ""
    source: str = ""
    model: str = "convnet"  # a built-in family or a user's package.module:function
    conditions: dict[str, dict[str, list]] = field(default_factory=dict)  # axis -> {other axis: allowed values}
    constraints: dict = field(default_factory=dict)  # max_params, max_macs, exclude
    unique: bool = False  # one candidate per isomorphism class (the family's `isomorphism`)
    sample: dict | None = None  # {"size": N, "seed": S}: a seeded sample of the candidates (see the module's text)
    # the user gave this space (a file they passed, or one they said they trust): only then is a factory it names
    # imported (`factories.require_trusted`); a space read back from a run's record is not trusted
    trusted: bool = field(default=False, compare=False)

    def candidates(self) -> list[dict]:
        """Every candidate: a conditional axis only where its condition holds; excluded ones left out; with `unique`
        only the representative of each isomorphism class. Fresh dicts: a caller may change them."""
        return [dict(params) for params in self._candidates]

    @cached_property
    def _candidates(self) -> tuple[dict, ...]:
        """The candidates, enumerated once (a space is immutable; a big one, nb201's 15,625, is asked often)."""
        kept = self._allowed if not self.unique else \
            tuple(params for params in self._allowed if self._representative(params) == self.candidate_id(params))
        if self.sample is None:
            return kept
        chosen = np.random.default_rng(self.sample["seed"]).permutation(len(kept))[:self.sample["size"]]
        return tuple(kept[i] for i in sorted(chosen))

    @cached_property
    def _sampled(self) -> frozenset[str]:
        return frozenset(self.candidate_id(params) for params in self._candidates)

    @cached_property
    def _allowed(self) -> tuple[dict, ...]:
        """The product of the axes (a conditional axis only where its condition holds) less the excluded ones."""
        partial: list[dict] = [{}]
        for axis, values in self.axes.items():
            condition = self.conditions.get(axis, {})
            grown = []
            for params in partial:
                if all(params.get(other) in allowed for other, allowed in condition.items()):
                    grown += [{**params, axis: value} for value in values]
                else:
                    grown.append(params)
            partial = grown
        return tuple(params for params in partial if self._excluded_by_rule(params) is None)

    def excluded(self, params: dict) -> str | None:
        """Why a candidate is outside the space by an `exclude` entry or, with `unique`, as a duplicate of its
        isomorphism class's representative, if it is (e.g. a sampler's proposal)."""
        reason = self._excluded_by_rule(params)
        if reason is None and self.unique:
            representative = self._representative(params)
            if representative not in (None, self.candidate_id(params)):
                reason = f"isomorphic to {representative}, which stands for its class (unique: true)"
        if reason is None and self.sample is not None and self.candidate_id(params) not in self._sampled:
            reason = f"not in the space's sample ({self.sample['size']} candidates, seed {self.sample['seed']})"
        return reason

    def _excluded_by_rule(self, params: dict) -> str | None:
        for rule in self.constraints.get("exclude", []):
            if all(params.get(k) == v for k, v in rule.items()):
                return f"excluded by {rule}"
        return None

    def _representative(self, params: dict) -> str | None:
        """The id that stands for the candidate's isomorphism class; None for a candidate outside the space."""
        return self._representatives.get(self.family.isomorphism(params))

    @cached_property
    def _representatives(self) -> dict:
        """Isomorphism key -> the smallest id of the class's candidates in the space (exclusions applied)."""
        best: dict = {}
        for params in self._allowed:
            key, cid = self.family.isomorphism(params), self.candidate_id(params)
            if key not in best or cid < best[key]:
                best[key] = cid
        return best

    def candidate_id(self, params: dict) -> str:
        """The candidate's name in this space (its family's form when it declares one)."""
        return candidate_id(params, self.family)

    def suggest(self, trial) -> dict:
        """A candidate drawn by an optuna sampler (define-by-run, so conditional axes are drawn only when present)."""
        params = {}
        for axis, values in self.axes.items():
            if all(params.get(other) in allowed for other, allowed in self.conditions.get(axis, {}).items()):
                params[axis] = trial.suggest_categorical(axis, values)
        return params

    def __len__(self) -> int:
        return len(self.candidates())

    @property
    def family(self) -> ModelFamily | None:
        """The built-in family the space's candidates belong to; None for a user's factory."""
        return FAMILIES.get(self.model) if ":" not in self.model else None

    @classmethod
    def from_dict(cls, data: dict, source: str = "", trusted: bool = False) -> "SearchSpace":
        """The space a run's record describes (its `to_dict`), e.g. to train more of its candidates. Read from a
        file, it is not `trusted` unless the caller says the user trusts that file (--trust-factory)."""
        return cls(name=data["name"], axes={k: list(v) for k, v in data["axes"].items()},
                   description=data.get("description", ""), source=source, model=data.get("model", "convnet"),
                   conditions=data.get("conditions") or {}, constraints=data.get("constraints") or {},
                   unique=bool(data.get("unique", False)), sample=data.get("sample"), trusted=trusted)

    def to_dict(self) -> dict:
        """The space's identity; the newer keys only where used, so the spaces of earlier runs keep theirs."""
        out = {"name": self.name, "description": self.description, "axes": self.axes}
        extras = {"model": self.model if self.model != "convnet" else None, "conditions": self.conditions or None,
                  "constraints": self.constraints or None, "unique": self.unique or None, "sample": self.sample}
        return {**out, **{k: v for k, v in extras.items() if v is not None}}


def _line(node) -> str:
    return f"line {node.start_mark.line + 1}"


def _factory_name(value, where: str, node) -> str:
    if isinstance(value, str) and (value in FAMILIES or re.fullmatch(r"[\w.]+:[A-Za-z_]\w*", value)):
        return value
    raise InputError(f"{where}, {_line(node)}: model {value!r} is neither a built-in family "
                     f"({', '.join(FAMILIES)}) nor a factory written package.module:function")


def _check_value(axis: str, value, family: ModelFamily | None) -> str | None:
    if family is not None:
        return family.check_value(axis, value)
    return None if isinstance(value, (int, float, str, bool)) else "must be a number, a string or a boolean"


def parse_space(text: str, source: str = "<string>") -> SearchSpace:
    """Parse and validate a space file's text; errors name `source`, the key and the line. The text is the user's
    (a file they pass), so a factory it names may be imported: the space is `trusted`."""
    where = f"search space {source}"
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"{where}: invalid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise InputError(f"{where}: expected a mapping with 'axes' (and optionally name, description, model, fixed, "
                         "conditions, constraints)")
    data = yaml.safe_load(text)
    keys = {k.value: (k, v) for k, v in root.value}
    for key, (knode, _) in keys.items():
        if key not in TOP_KEYS:
            raise InputError(f"{where}, {_line(knode)}: unknown key {key!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    if "axes" not in keys:
        raise InputError(f"{where}: no 'axes' mapping (axis -> list of values)")
    model = _factory_name(data["model"], where, keys["model"][1]) if "model" in keys else "convnet"
    family = FAMILIES.get(model) if ":" not in model else None
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
        if family is not None and axis not in family.axes:
            raise InputError(f"{where}, {_line(knode)}: unknown axis {axis!r}; axes are {', '.join(family.axes)}")
        if family is None and not re.fullmatch(r"[A-Za-z_]\w*", str(axis)):
            raise InputError(f"{where}, {_line(knode)}: axis {axis!r} must be a name like width_multiplier")
        if axis in axes:
            raise InputError(f"{where}, {_line(knode)}: axis {axis!r} is given twice")
        values = (data["fixed"] if in_fixed else data["axes"])[axis]
        values = [values] if in_fixed else values
        if not isinstance(values, list):
            raise InputError(f"{where}, {_line(vnode)}: axis {axis!r} must list its values, e.g. [1, 2]")
        if not values:
            raise InputError(f"{where}, {_line(vnode)}: axis {axis!r} has no values")
        for i, value in enumerate(values):
            problem = _check_value(axis, value, family)
            if problem:
                node = vnode.value[i] if isinstance(vnode, yaml.SequenceNode) else vnode
                raise InputError(f"{where}, {_line(node)}: {axis} value {value!r} {problem}")
        if len(set(map(str, values))) != len(values):
            raise InputError(f"{where}, {_line(vnode)}: axis {axis!r} repeats a value")
        if family is not None and axis in family.settings and len(values) > 1:
            raise InputError(f"{where}, {_line(vnode)}: {axis} is a setting of {family.name} spaces (it sizes every "
                             f"candidate alike, so it is not part of a candidate's id): give it one value")
        axes[axis] = values
    if family is not None and family.complete:
        missing = [a for a in family.axes if a not in axes]
        if missing:
            raise InputError(f"{where}: axes {missing} are missing; list them under 'axes' or pin them under 'fixed'")
        axes = {a: axes[a] for a in family.axes}
    conditions = _conditions(data, keys, axes, where)
    constraints = _constraints(data, keys, axes, where)
    space = SearchSpace(name=str(data.get("name") or Path(source).stem), axes=axes,
                        description=str(data.get("description") or ""), source=source, model=model,
                        conditions=conditions, constraints=constraints,
                        unique=_unique(data, keys, model, family, where), trusted=True)
    if "sample" in keys:
        space = replace(space, sample=_sample(data, keys, len(space), where))
    candidates = space.candidates()
    if family is not None:
        for params in candidates:
            problem = family.rule(params)
            if problem:
                raise InputError(f"{where}: {problem}")
    if not candidates:
        raise InputError(f"{where}: no candidate is left after the exclusions")
    seen: dict[str, dict] = {}
    for params in candidates:  # a family's own ids must still tell its candidates apart
        cid = space.candidate_id(params)
        if cid in seen:
            raise InputError(f"{where}: candidates {seen[cid]} and {params} share the id {cid!r}")
        seen[cid] = params
    return space


def _unique(data: dict, keys: dict, model: str, family: ModelFamily | None, where: str) -> bool:
    if "unique" not in keys:
        return False
    node, value = keys["unique"][1], data["unique"]
    if not isinstance(value, bool):
        raise InputError(f"{where}, {_line(node)}: unique must be true or false, got {value!r}")
    if value and (family is None or family.isomorphism is None):
        able = [name for name, f in FAMILIES.items() if f.isomorphism is not None]
        raise InputError(f"{where}, {_line(node)}: unique: true needs a model family that says which candidates are "
                         f"isomorphic ({', '.join(able)}); {model!r} does not")
    return value


def _sample(data: dict, keys: dict, available: int, where: str) -> dict:
    node, value = keys["sample"][1], data["sample"]
    if not isinstance(value, dict) or set(value) - {"size", "seed"} or "size" not in value:
        raise InputError(f"{where}, {_line(node)}: sample takes size and seed, e.g. {{size: 200, seed: 0}}")
    size, seed = value["size"], value.get("seed", 0)
    for name, number, least in (("size", size, 1), ("seed", seed, 0)):
        if isinstance(number, bool) or not isinstance(number, int) or number < least:
            raise InputError(f"{where}, {_line(node)}: sample {name} must be a whole number >= {least}, got {number!r}")
    if size > available:
        raise InputError(f"{where}, {_line(node)}: sample size {size} is more than the {available} candidates the "
                         "space has without it")
    return {"size": size, "seed": seed}


def _conditions(data: dict, keys: dict, axes: dict, where: str) -> dict[str, dict[str, list]]:
    if "conditions" not in keys:
        return {}
    knode, node = keys["conditions"]
    raw = data["conditions"]
    if not isinstance(raw, dict):
        raise InputError(f"{where}, {_line(node)}: 'conditions' maps an axis to {{other axis: [values]}}")
    order = list(axes)
    out = {}
    for (anode, cnode) in node.value:
        axis, condition = anode.value, raw[anode.value]
        if axis not in axes:
            raise InputError(f"{where}, {_line(anode)}: condition on unknown axis {axis!r}")
        if not isinstance(condition, dict) or not condition:
            raise InputError(f"{where}, {_line(cnode)}: the condition of {axis!r} must map other axes to lists of "
                             "values, e.g. {norm: [batchnorm, instancenorm]}")
        for other, allowed in condition.items():
            if other not in axes or order.index(other) >= order.index(axis):
                raise InputError(f"{where}, {_line(cnode)}: the condition of {axis!r} names {other!r}, which must "
                                 "be an axis listed before it")
            allowed = allowed if isinstance(allowed, list) else [allowed]
            unknown = [v for v in allowed if v not in axes[other]]
            if unknown:
                raise InputError(f"{where}, {_line(cnode)}: the condition of {axis!r} allows {other} values {unknown} "
                                 f"that the axis does not have ({axes[other]})")
            out.setdefault(axis, {})[other] = allowed
    return out


def _constraints(data: dict, keys: dict, axes: dict, where: str) -> dict:
    if "constraints" not in keys:
        return {}
    knode, node = keys["constraints"]
    raw = data["constraints"]
    if not isinstance(raw, dict):
        raise InputError(f"{where}, {_line(node)}: 'constraints' takes max_params, max_macs and exclude")
    out = {}
    for (cnode, vnode) in node.value:
        key, value = cnode.value, raw[cnode.value]
        if key not in CONSTRAINT_KEYS:
            raise InputError(f"{where}, {_line(cnode)}: unknown constraint {key!r}; allowed: "
                             f"{', '.join(sorted(CONSTRAINT_KEYS))}")
        if key in ("max_params", "max_macs"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 1:
                raise InputError(f"{where}, {_line(vnode)}: {key} must be a finite number >= 1, got {value!r} (leave "
                                 f"{key} out for no limit)")
            out[key] = int(value)
        else:
            if not isinstance(value, list) or not all(isinstance(rule, dict) and rule for rule in value):
                raise InputError(f"{where}, {_line(vnode)}: exclude lists partial candidates, e.g. "
                                 "- {depth: 4, pool: none}")
            for rule in value:
                for axis, v in rule.items():
                    if axis not in axes or v not in axes[axis]:
                        raise InputError(f"{where}, {_line(vnode)}: exclude names {axis}={v!r}, which the space does "
                                         "not have")
            out[key] = value
    return out


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
