"""One builder of experiments: experts -> proxies -> evaluation -> search (or a published truth) -> report, as
`ftd_nas.stages.Stage`s.

Each step kind's ftd-nas command is spelled here once, from the settings every step shares (`ExperimentSettings`);
the demo and the scripts in scripts/ only say which steps they want, with which numbers, under which stage names
(their experiment.json records are keyed by those names). Each method returns the path its step writes, so the next
step can name it. Options always come in one order; `ftd_nas.stages` compares a finished stage's command with the
current one regardless of the order of the options, so the records of scripts that once spelled their commands in
another order stay valid.

Which data options a command takes follows from what it reads: a command that reads a file an earlier step wrote
(a proxy, an experts folder) takes only the data's location (`--dataset`, `--data-root`), the file supplies the
preprocessing (ZCA, split) and the network; commands that start from the real data take the preprocessing too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ftd_nas.checks import is_whole
from ftd_nas.errors import ConfigError
from ftd_nas.proxy_methods import SELECTED, lookup
from ftd_nas.stages import Stage

Epochs = int | Callable[[dict], int]  # a number, or a function of the experiment's record so far


@dataclass(frozen=True)
class ExperimentSettings:
    """What every step of an experiment shares. None leaves an option out of the commands (its default applies)."""

    dataset: str
    data_root: str | None = None
    zca: bool = False
    normalize: str | None = None  # --normalize of commands that start from the real data (None: the default)
    width: int | None = None
    depth: int | None = None
    device: str | None = None
    quiet: bool = True  # --no-progress: stages log to files, where progress bars are noise

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError(f"an experiment needs a dataset name, got {self.dataset!r}")
        for name in ("width", "depth"):
            value = getattr(self, name)
            if value is not None and (not is_whole(value) or value < 1):
                raise ConfigError(f"{name} must be a whole number >= 1 (or None), got {value!r}")
        for name in ("data_root", "device"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{name} must be a non-empty string (or None), got {value!r}")

    def real(self) -> list[str]:
        """Where the real data is: all that a command reading a proxy or experts folder takes."""
        return ["--dataset", self.dataset, *(["--data-root", self.data_root] if self.data_root else [])]

    def data(self) -> list[str]:
        """The real data and its preprocessing, for commands that start from the real data."""
        return self.real() + self.preprocessing()

    def preprocessing(self, zca: bool | None = None, normalize: str | None = None) -> list[str]:
        """--zca and --normalize as set, or as overridden for one stage."""
        zca, normalize = self.zca if zca is None else zca, normalize or self.normalize
        return (["--zca"] if zca else []) + (["--normalize", normalize] if normalize else [])

    def net(self) -> list[str]:
        return [*(["--width", str(self.width)] if self.width else []),
                *(["--depth", str(self.depth)] if self.depth else [])]

    def run(self) -> list[str]:
        return [*(["--no-progress"] if self.quiet else []), *(["--device", self.device] if self.device else [])]


def _is_file_proxy(proxy: str) -> bool:
    """A proxy file, which fixes its own preprocessing; not real data, a random subset or a training-free scorer
    (zc:NAME), which read the real data as the command's data options say."""
    return proxy != "real" and not proxy.startswith(("random:", "zc:"))


class ExperimentPlan:
    """The stages of one experiment in `out`, in the order they are added (`plan.stages`)."""

    def __init__(self, settings: ExperimentSettings, out: str | Path):
        self.settings, self.out = settings, Path(out)
        self.stages: list[Stage] = []
        self._experts: dict[str, Path] = {}  # optimizer -> the folder an experts step of this plan writes

    def _add(self, name: str, args: list[str] | Callable[[dict], list[str]], workers: int = 1) -> None:
        if any(stage.name == name for stage in self.stages):
            raise ConfigError(f"two stages named {name!r}: experiment.json keeps one record per name")
        self.stages.append(Stage(name, args, workers=workers))

    def experts(self, optimizer: str, num: int, epochs: int, alpha: float | str, *, workers: int = 1,
                name: str | None = None, to: str | Path | None = None) -> Path:
        """Expert trajectories (`ftd-nas experts`) into `to` (default OUT/experts/OPTIMIZER)."""
        s, path = self.settings, Path(to) if to else self.out / "experts" / optimizer
        self._experts[optimizer] = path
        self._add(name or f"experts-{optimizer}", [
            "experts", *s.data(), *s.net(), "--num-experts", str(num), "--epochs", str(epochs), "--optimizer",
            optimizer, "--alpha", str(alpha), "--out", str(path), *s.run()], workers)
        return path

    def proxy(self, method: str, ipc: int, *, seed: int | None = None, extra: Sequence[str] = (),
              name: str | None = None, file: str | None = None, to: str | Path | None = None) -> Path:
        """A proxy by `method` (`ftd-nas distill` or `select`, as the method registry says) into `to` (default
        OUT/proxies/FILE.safetensors, FILE defaulting to the method). A method matching expert trajectories reads
        the folder of its experts' optimizer (the plan's experts step, else OUT/experts/OPTIMIZER) and takes its
        network and preprocessing from there. `seed` None leaves it out (the command's default, 0); `extra` are
        the method's own options."""
        s, entry = self.settings, lookup(method)
        path = Path(to) if to else self.out / "proxies" / f"{file or method}.safetensors"
        command = "select" if entry.kind == SELECTED else "distill"
        if entry.experts:
            experts = self._experts.get(entry.experts, self.out / "experts" / entry.experts)
            source = ["--experts", str(experts), *s.real()]
        else:
            source = [*s.data(), *s.net()]
        self._add(name or f"{command}-{method}", [
            command, "--method", method, *(source if entry.experts else []), "--ipc", str(ipc),
            *([] if entry.experts else source), *extra, *(["--seed", str(seed)] if seed is not None else []),
            "--out", str(path), *s.run()])
        return path

    def evaluate(self, proxy: str | Path, runs: int, epochs: int, *, json: str | Path | None = None,
                 baseline: str | None = None, models: str | None = None, overwrite: bool = True,
                 name: str | None = None) -> Path | None:
        """Accuracy of fresh networks trained on `proxy` (`ftd-nas evaluate`); returns the JSON record's path."""
        s = self.settings
        self._add(name or f"evaluate-{Path(proxy).stem}", [
            "evaluate", str(proxy), *s.real(), "--runs", str(runs), "--epochs", str(epochs),
            *(["--baseline", baseline] if baseline else []), *(["--models", models] if models else []),
            *(["--json", str(json)] if json else []), *(["--overwrite"] if json and overwrite else []), *s.run()])
        return Path(json) if json else None

    def search(self, space: str | Path, proxy: str | Path, *, epochs: Epochs | None = None,
               repeats: int | None = None, seed: int | None = None, workers: int = 1, name: str | None = None,
               run: str | None = None, to: str | Path | None = None, zca: bool | None = None,
               normalize: str | None = None) -> Path:
        """Every candidate of `space` trained on `proxy` (a proxy file, "real" or "random:K"; `ftd-nas search`)
        or scored by a training-free scorer ("zc:NAME") into `to` (default OUT/search/RUN). `epochs` may be a
        function of the record so far (then so are the stage's arguments); None leaves it, like `repeats` and
        `seed`, to the command's default. `zca` overrides the plan's preprocessing for a search that reads the real
        data itself (the training-free scorers were published on data without ZCA while the distilled proxies of
        the same experiment were made with it); `normalize` likewise (they were published on data normalised by
        the dataset's standard constants); a proxy file fixes its own, so both are refused there."""
        s, proxy = self.settings, str(proxy)
        path = Path(to) if to else self.out / "search" / (run or Path(proxy).stem)
        if _is_file_proxy(proxy):
            if zca is not None or normalize is not None:
                raise ConfigError(f"zca= and normalize= apply to real data, random:K and zc:NAME; the proxy file "
                                  f"{proxy!r} fixes its own preprocessing")
            data = s.real()
        else:
            data = s.real() + s.preprocessing(zca, normalize)

        def args(record: dict) -> list[str]:
            n = epochs(record) if callable(epochs) else epochs
            return ["search", "--space", str(space), "--proxy", proxy, *data, *(["--epochs", str(n)] if n else []),
                    *(["--repeats", str(repeats)] if repeats else []),
                    *(["--seed", str(seed)] if seed is not None else []), "--out", str(path), *s.run()]

        self._add(name or f"search-{path.name}", args if callable(epochs) else args({}), workers)
        return path

    def truth(self, space: str | Path, *, table: str | Path | None = None, archive: str | Path | None = None,
              id_column: str | None = None, accuracy_column: str | None = None, dataset_family: str | None = None,
              name: str = "truth", to: str | Path | None = None) -> Path:
        """A ground truth from a published table (`ftd-nas truth`): a CSV `table` or a NATS-Bench `archive` folder
        matched against `space`, into `to` (default OUT/truth), which `report` takes as a truth; the columns and
        the dataset family default to the command's (NAS-Bench-201's CSV, its CIFAR-10 test accuracy after 200
        epochs)."""
        if (table is None) == (archive is None):
            raise ConfigError("a truth step reads a table or an archive: give exactly one of table= and archive=")
        path = Path(to) if to else self.out / "truth"
        source = ["--table", str(table)] if table is not None else ["--archive", str(archive)]
        self._add(name, ["truth", *source, "--space", str(space),
                         *(["--id-column", id_column] if id_column else []),
                         *(["--accuracy-column", accuracy_column] if accuracy_column else []),
                         *(["--dataset-family", dataset_family] if dataset_family else []),
                         "--out", str(path), *(["--no-progress"] if self.settings.quiet else [])])
        return path

    def report(self, runs: Iterable[tuple[str | Path, str | None]], truth: str | Path, *,
               ks: Sequence[int] | None = None, bootstrap: int | None = None, overwrite: bool = True,
               name: str = "report", to: str | Path | None = None) -> Path:
        """Rank agreement of search runs (with their group labels; None: the report's default) with the truth run
        (`ftd-nas report`) into `to` (default OUT/report); labels are given for all runs or none."""
        runs = list(runs)
        labels = [label for _, label in runs if label is not None]
        if labels and len(labels) != len(runs):
            raise ConfigError("label every run of a report or none (the command pairs labels with runs by position)")
        path = Path(to) if to else self.out / "report"
        self._add(name, ["report", *(str(run) for run, _ in runs), *(a for label in labels for a in ("--label", label)),
                         "--truth", str(truth), "--out", str(path),
                         *(["--ks", ",".join(map(str, ks))] if ks else []),
                         *(["--bootstrap", str(bootstrap)] if bootstrap else []),
                         *(["--overwrite"] if overwrite else [])])
        return path

    def curves(self, sources: Iterable[tuple[str | Path, str]], to: str | Path, *, name: str = "curves") -> Path:
        """Learning-curve figures of distillations and expert folders, with their legend labels (`ftd-nas curves`),
        written as TO-distillation.* and TO-training.*; replaced when run again."""
        sources = list(sources)
        self._add(name, ["curves", *(str(path) for path, _ in sources),
                         *(a for _, label in sources for a in ("--label", label)), "--out", str(to), "--overwrite"])
        return Path(to)
