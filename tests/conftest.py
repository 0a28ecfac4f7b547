"""Fixtures and builders shared by the whole suite: the digits data, tiny experts, tiny search spaces and search
configurations, and a simulated crash. Builders are plain functions (import them with `from tests.conftest import
...`); fixtures need no import."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CIFAR_SUBSET = REPO.parent / "shared" / "datasets" / "cifar10_subset.npz"
NATS_BENCH_CSV = REPO.parent / "shared" / "datasets" / "nats_bench_tss.csv"  # NAS-Bench-201's published table

# The unit space: 8 ConvNets, three axes varied; shared by the search, runner, PostgreSQL and runtime tests.
SPACE = """\
name: unit
axes:
  depth: [1, 2]
  width: [4, 8]
  norm: [instancenorm, none]
fixed:
  act: relu
  pool: avgpool
"""


@pytest.fixture(autouse=True)
def _idle_machine_for_threads(monkeypatch):
    """Every test, and every command it starts, sizes torch's threads as if the machine were idle
    (runtime.runnable_elsewhere): thread counts, and so the last bits of results, must not follow the load of the
    machine the suite runs on. tests/test_runtime.py sets its own loads."""
    monkeypatch.setenv("FTD_NAS_OTHER_RUNNABLE", "0")


def write_space(folder: Path, text: str = SPACE, name: str = "unit.yaml") -> Path:
    """A search-space file `name` holding `text` in `folder`."""
    path = Path(folder) / name
    path.write_text(text)
    return path


@pytest.fixture
def space_file(tmp_path) -> str:
    """The unit space (8 candidates) as a file in the test's folder."""
    return str(write_space(tmp_path))


def search_config(space, out, proxy: str = "random:3", epochs: int = 2, seed: int = 0, **kw):
    """A search of `space` into `out` on digits, on the CPU, without DSA or progress bars; `kw` sets any other
    SearchConfig field (storage, repeats, sampler, heartbeat...)."""
    from ftd_nas.search import SearchConfig, SearchRecipe

    return SearchConfig(space=str(space), proxy=proxy, out=str(out), dataset="digits", device="cpu",
                        recipe=SearchRecipe(epochs=epochs, dsa=None, seed=seed), progress=False, **kw)


def tiny_expert_config(optimizer: str = "sgd", epochs: int = 4, num_experts: int = 2, **train):
    """Experts of a width-8 ConvNet-2 without progress bars; `train` sets any other expert_train_config option."""
    from ftd_nas.experts import ExpertConfig, expert_train_config
    from ftd_nas.models import ModelSpec

    return ExpertConfig(model=ModelSpec(width=8, depth=2), num_experts=num_experts,
                        train=expert_train_config(optimizer, epochs=epochs, progress=False, **train))


@pytest.fixture(scope="session")
def cifar_subset_path() -> Path:
    if not CIFAR_SUBSET.is_file():
        pytest.skip(f"real-data test needs {CIFAR_SUBSET} (the shared CIFAR-10 subset)")
    return CIFAR_SUBSET


@pytest.fixture(scope="session")
def nats_bench_rows() -> list[dict]:
    """The rows of NAS-Bench-201's published table (cell string, UniqueString, accuracies)."""
    import csv

    if not NATS_BENCH_CSV.is_file():
        pytest.skip(f"the check against the benchmark's table needs {NATS_BENCH_CSV} (NATS-Bench's 15,625 cells)")
    with NATS_BENCH_CSV.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def digits():
    from ftd_nas.data import load_dataset

    return load_dataset("digits")


def _tiny_experts(root, digits, optimizer):
    from ftd_nas.experts import train_experts

    train_experts(tiny_expert_config(optimizer, epochs=4), root, dataset=digits, device="cpu")
    return root


@pytest.fixture(scope="session")
def gsam_experts(tmp_path_factory, digits):
    """Two 4-epoch GSAM experts (width-8 ConvNet-2) on digits."""
    return _tiny_experts(tmp_path_factory.mktemp("gsam"), digits, "gsam")


@pytest.fixture(scope="session")
def sgd_experts(tmp_path_factory, digits):
    """Two 4-epoch SGD experts (width-8 ConvNet-2) on digits."""
    return _tiny_experts(tmp_path_factory.mktemp("sgd"), digits, "sgd")


class Crash(Exception):
    """A simulated crash of a long job."""


@pytest.fixture
def interrupt_after(monkeypatch):
    """interrupt_after(owner, name, n, exc=KeyboardInterrupt): from its (n+1)-th call on, owner.name raises exc, as
    a job killed part-way would stop; returns a function that restores the real one."""
    def arm(owner, name: str, n: int, exc: type[BaseException] = KeyboardInterrupt):
        real, calls = getattr(owner, name), []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) > n:
                raise exc
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, interrupted)
        return lambda: monkeypatch.setattr(owner, name, real)

    return arm


def malicious_factory(folder: Path) -> tuple[str, Path]:
    """A model factory whose module, when imported, creates a marker file beside itself (what a hostile factory
    named in a received file would do): returns its name (module:function, a fresh module name each call) and the
    marker that must never appear. Put `folder` on sys.path (or run in it) to make the import possible."""
    import uuid

    module = f"evil_factory_{uuid.uuid4().hex[:12]}"
    marker = Path(folder) / f"{module}.PWNED"
    (Path(folder) / f"{module}.py").write_text(
        "from pathlib import Path\nPath(__file__).with_suffix('.PWNED').write_text('imported')\n\n"
        "from torch import nn\n\n\n"
        "def build(params, channels, image_size, num_classes):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(channels * image_size[0] * image_size[1], num_classes))\n")
    assert not marker.exists()
    return f"{module}:build", marker


def name_factory(run_dir: Path, factory: str) -> None:
    """Make a finished run's space name `factory` as its model, in run.json and in its study alike (as a run
    received from elsewhere would): every read check passes, so only the trust check stands between it and an
    import."""
    import json

    import optuna

    info = json.loads((Path(run_dir) / "run.json").read_text())
    info["identity"]["space"]["model"] = factory
    (Path(run_dir) / "run.json").write_text(json.dumps(info))
    study = optuna.load_study(study_name=info["study_name"], storage=f"sqlite:///{Path(run_dir) / info['storage']}")
    study.set_user_attr("space", info["identity"]["space"])
