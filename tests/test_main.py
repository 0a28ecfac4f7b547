"""The `ftd-nas` command's entry point (ftd_nas/__main__.py): OpenMP threads wait passively (sleep, not spin) where
other work wants the CPUs, unless the user chose how they wait, set before torch loads; importing the module does
nothing."""

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftd_nas.__main__ import OURS, USER_WAIT_SETTINGS, set_openmp_defaults
from ftd_nas.cpus import OTHER_RUNNABLE_ENV

REPO = Path(__file__).resolve().parents[1]


def _env(**set_vars) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (*USER_WAIT_SETTINGS, OURS, OTHER_RUNNABLE_ENV)}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**env, **set_vars}


def test_the_wait_is_passive_where_other_work_wants_the_cpus_and_openmp_s_own_where_none_does():
    crowded = {"PATH": "/bin"}
    assert set_openmp_defaults(crowded, load=10_000) == "PASSIVE"
    assert crowded == {"PATH": "/bin", "OMP_WAIT_POLICY": "PASSIVE", OURS: "PASSIVE"}
    empty = {"OMP_WAIT_POLICY": ""}  # set but empty: OpenMP takes its default, and so do we
    assert set_openmp_defaults(empty, load=10_000) == "PASSIVE" and empty["OMP_WAIT_POLICY"] == "PASSIVE"
    idle = {"PATH": "/bin"}
    assert set_openmp_defaults(idle, load=0) is None and idle == {"PATH": "/bin"}  # the spin: quicker alone
    # the load as the thread plan reads it: FTD_NAS_OTHER_RUNNABLE, and a malformed one counts as crowded (the
    # plan refuses it with its message once the CLI runs)
    assert set_openmp_defaults({OTHER_RUNNABLE_ENV: "10000"}) == "PASSIVE"
    assert set_openmp_defaults({OTHER_RUNNABLE_ENV: "0"}) is None
    assert set_openmp_defaults({OTHER_RUNNABLE_ENV: "lots"}) == "PASSIVE"


def test_a_child_decides_again_from_its_own_load_but_keeps_the_user_s_choice():
    inherited = {"PATH": "/bin"}
    set_openmp_defaults(inherited, load=10_000)  # the parent started on a busy machine
    assert set_openmp_defaults(inherited, load=0) is None and inherited == {"PATH": "/bin"}  # idle when it starts
    users = {"OMP_WAIT_POLICY": "PASSIVE", OURS: "ACTIVE"}  # the user changed it after we had set ours
    assert set_openmp_defaults(users, load=0) is None and users["OMP_WAIT_POLICY"] == "PASSIVE"


@pytest.mark.parametrize("name, value", [("OMP_WAIT_POLICY", "ACTIVE"), ("OMP_WAIT_POLICY", "passive"),
                                         ("GOMP_SPINCOUNT", "10000"), ("KMP_BLOCKTIME", "200")])
def test_the_user_s_choice_of_how_threads_wait_wins(name, value):
    environ = {name: value}
    assert set_openmp_defaults(environ) is None
    assert environ == {name: value}  # nothing added beside it either


def _run(code: str, **set_vars) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=_env(**set_vars), cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_importing_the_entry_point_does_nothing_but_define():
    code = """import json, os, sys
import ftd_nas.__main__
print(json.dumps([os.environ.get("OMP_WAIT_POLICY"), sorted(m for m in sys.modules
                                                             if m.split(".")[0] in ("torch", "numpy")
                                                             or m.startswith("ftd_nas.cli"))]))"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [None, []]


# The CLI replaced by one that reports what it sees when it is imported and run: the policy is in place before the
# CLI (and so torch) is imported, and main() returns the CLI's exit code.
FAKE_CLI = """import importlib.abc, importlib.util, json, os, sys
seen = {}
class FakeCli(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name == "ftd_nas.cli" else None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        seen["policy_at_import"] = os.environ.get("OMP_WAIT_POLICY")
        def main(argv):
            seen["argv"] = argv
            seen["torch"] = "torch" in sys.modules
            print(json.dumps(seen))
            return 7
        module.main = main
sys.meta_path.insert(0, FakeCli())
import ftd_nas.__main__
assert "ftd_nas.cli" not in sys.modules and os.environ.get("OMP_WAIT_POLICY") in (None, "ACTIVE")
raise SystemExit(ftd_nas.__main__.main(["demo"]))
"""


def test_main_sets_the_policy_before_the_cli_loads_and_returns_its_exit_code():
    result = _run(FAKE_CLI, **{OTHER_RUNNABLE_ENV: "10000"})
    assert result.returncode == 7, result.stderr
    assert json.loads(result.stdout) == {"policy_at_import": "PASSIVE", "argv": ["demo"], "torch": False}
    kept = _run(FAKE_CLI, OMP_WAIT_POLICY="ACTIVE", **{OTHER_RUNNABLE_ENV: "10000"})
    assert json.loads(kept.stdout)["policy_at_import"] == "ACTIVE"
    idle = _run(FAKE_CLI, **{OTHER_RUNNABLE_ENV: "0"})
    assert json.loads(idle.stdout)["policy_at_import"] is None


def test_the_console_script_goes_through_the_entry_point():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    scripts = config["options.entry_points"]["console_scripts"].split("\n")
    assert "ftd-nas = ftd_nas.__main__:main" in [line.strip() for line in scripts]


def _spin_count(**set_vars) -> str | None:
    # libgomp prints the settings it started with (OMP_DISPLAY_ENV=VERBOSE) as torch loads it: GOMP_SPINCOUNT is
    # 0 under a passive wait, 300000 by default (OMP_WAIT_POLICY = 'PASSIVE' is also printed when it is unset).
    result = subprocess.run([sys.executable, "-m", "ftd_nas", "--version"], env=_env(OMP_DISPLAY_ENV="VERBOSE",
                            **set_vars), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [line.split("=", 1)[1].strip(" '") for line in result.stderr.splitlines()
             if line.strip().startswith("GOMP_SPINCOUNT")]
    return lines[0] if lines else None


@pytest.mark.slow
def test_torch_s_openmp_runtime_starts_with_the_passive_wait_on_a_crowded_machine():
    spin = _spin_count(**{OTHER_RUNNABLE_ENV: "10000"})
    if spin is None:
        pytest.skip("torch's OpenMP runtime here is not libgomp (it printed no GOMP_SPINCOUNT)")
    assert spin == "0"
    assert _spin_count(OMP_WAIT_POLICY="ACTIVE", **{OTHER_RUNNABLE_ENV: "10000"}) != "0"  # the user's choice won
    assert _spin_count(**{OTHER_RUNNABLE_ENV: "0"}) != "0"  # an idle machine: libgomp's own spin
