"""The `ftd-nas` command (`python -m ftd_nas`): the OpenMP defaults that must be set before torch loads, then the CLI.

Importing this module defines things and does nothing else; `main()` is the console script's entry point.
"""

from __future__ import annotations

import os
from typing import MutableMapping, Sequence

from ftd_nas.cpus import cpu_share
from ftd_nas.errors import ConfigError

# Any of these set by the user is their choice of how OpenMP threads wait, and wins over ours.
USER_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
OURS = "FTD_NAS_SET_OMP_WAIT_POLICY"  # the policy set_openmp_defaults chose, so that a child can tell it from the user's


def set_openmp_defaults(environ: MutableMapping[str, str] = os.environ,
                        load: int | None = None) -> str | None:
    """Make torch's OpenMP threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE) when other work wants this
    process's share of the CPUs as it starts (`cpus.cpu_share(...).crowded`; `load`: the other runnable tasks,
    default read from the machine), unless the user chose how threads wait; returns the policy set, or None when
    OpenMP's own default (a short spin) or the user's setting was kept.

    Why: libgomp's default wait is an active spin. An idle thread of torch's pool keeps a core busy for a while
    after every parallel region, waiting for the next one; on a machine shared with other work that is CPU a
    neighbour needed, and the threads that are behind (descheduled for the neighbour) make the others spin longer
    still. On 2 cores loaded by other work the demo, 62 s alone, did not finish in an hour and burnt 25 CPU-minutes
    for about 2 minutes of work (issue #27 item 7). On an idle machine the spin is what keeps threads quick: a
    sleeping thread must be woken for every parallel region, and the demo alone took 1.28 times as long with the
    passive wait as with the spin (scripts/bench_threads.py; README, "Sharing a machine's CPUs"). So the wait is
    passive only where a neighbour is there to need the CPU, found as the thread plan finds it (runtime.plan_threads
    then gives this process fewer threads than its share). OpenMP reads the policy once, when its runtime is
    loaded, which torch's import does: so it must be in the environment before torch is imported, hence here,
    before the CLI is imported. A child process (a worker, a stage) decides again as it starts, from the load
    then: a policy this function set is marked (OURS) so that the child does not take it for the user's.
    """
    if environ.get(OURS) and environ.get(OURS) == environ.get("OMP_WAIT_POLICY"):
        del environ[OURS], environ["OMP_WAIT_POLICY"]
    if any(environ.get(name, "") for name in USER_WAIT_SETTINGS):
        return None
    try:
        busy = cpu_share(environ, load=load).crowded
    except ConfigError:  # a malformed FTD_NAS_OTHER_RUNNABLE: the thread plan refuses it with its message
        busy = True
    if not busy:
        return None
    environ["OMP_WAIT_POLICY"] = environ[OURS] = "PASSIVE"
    return "PASSIVE"


def main(argv: Sequence[str] | None = None) -> int:
    set_openmp_defaults()
    from ftd_nas.cli import main as cli_main  # imports torch: only after the OpenMP defaults are in place

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
