"""The floors of the package (.importlinter): kept by the code, and able to catch an import that breaks them;
reading a proxy never loads the code that makes one; importing the package does nothing but import."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".importlinter"
# Modules that train, make proxies or search: none of them may load when a proxy is only read.
PRODUCERS = ("ftd_nas.train", "ftd_nas.gsam", "ftd_nas.distill", "ftd_nas.experts", "ftd_nas.coresets",
             "ftd_nas.importer", "ftd_nas.evaluation", "ftd_nas.search")


def _env(root: Path) -> dict:
    # The tree under test comes first on the path, ahead of any installed copy of ftd_nas.
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def _lint(root: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.is_file(), f"{lint} is missing: install the test extras (pip install -e '.[test]')"
    return subprocess.run([str(lint), "--config", str(root / ".importlinter"), "--no-cache"], cwd=root,
                          env=_env(root), capture_output=True, text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "ftd_nas", tmp_path / "ftd_nas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    return tmp_path


def test_the_package_keeps_its_floors():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module, line, broken", [
    ("proxy.py", "from ftd_nas.train import train", "ftd_nas.proxy -> ftd_nas.train"),  # a sibling on its floor
    ("origins.py", "from ftd_nas.distill import distill", "ftd_nas.origins -> ftd_nas.distill"),  # upwards
    ("checks.py", "from ftd_nas.records import Part", "ftd_nas.checks -> ftd_nas.records"),  # the ground floor
    ("newcomer.py", "", "newcomer"),  # a module without a floor
])
def test_an_import_that_breaks_the_floors_fails(tmp_path, module, line, broken):
    root = _copy(tmp_path)
    path = root / "ftd_nas" / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n{line}\n")
    result = _lint(root)
    assert result.returncode != 0 and broken in result.stdout, result.stdout + result.stderr


def _modules_after(statement: str, cwd: Path) -> tuple[set[str], str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=_env(REPO), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    *before, last = result.stdout.splitlines()
    return set(json.loads(last)), "\n".join(before) + result.stderr


def _loaded(modules: set[str], prefixes) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_reading_a_proxy_loads_none_of_its_producers(tmp_path):
    modules, _ = _modules_after("import ftd_nas.proxy", tmp_path)
    assert _loaded(modules, PRODUCERS) == []


def test_the_ground_floor_loads_nothing_but_itself(tmp_path):
    modules, _ = _modules_after("import ftd_nas.checks", tmp_path)
    assert _loaded(modules, ["ftd_nas"]) == ["ftd_nas", "ftd_nas.checks", "ftd_nas.errors"]
    assert _loaded(modules, ["torch", "numpy"]) == []


def test_importing_the_command_has_no_side_effects(tmp_path):
    statement = """import logging
import torch
threads = torch.get_num_threads()
import ftd_nas.cli
assert torch.get_num_threads() == threads, "torch threads changed"
assert not logging.getLogger().handlers and not logging.getLogger("ftd_nas").handlers, "logging configured"
assert logging.getLogger("ftd_nas").level == logging.NOTSET, "log level set"
"""
    _, output = _modules_after(statement, tmp_path)
    assert output == "" and list(tmp_path.iterdir()) == []
