"""The `ftd-nas` command (`python -m ftd_nas`): the OpenMP defaults that must be set before torch loads, then the CLI.

Importing this module defines things and does nothing else; `main()` is the console script's entry point.
"""

from __future__ import annotations

import os
from typing import MutableMapping, Sequence

# Any of these set by the user is their choice of how OpenMP threads wait, and wins over ours.
USER_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def set_openmp_defaults(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Make torch's OpenMP threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE) unless the user chose otherwise;
    returns the policy set, or None when the user's setting was kept.

    Why: libgomp's default wait is an active spin. An idle thread of torch's pool keeps a core busy for a while
    after every parallel region, waiting for the next one; on a machine shared with other work that is CPU a
    neighbour needed, and the threads that are behind (descheduled for the neighbour) make the others spin longer
    still. On 2 cores loaded by other work the demo, 62 s alone, did not finish in an hour and burnt 25 CPU-minutes
    for about 2 minutes of work (issue #27 item 7; measurements in scripts/bench_threads.py and the README's
    "Sharing a machine's CPUs"). OpenMP reads the policy once, when its runtime is loaded, which torch's import
    does: so it must be in the environment before torch is imported, hence here, before the CLI is imported.
    Child processes (workers, stages) inherit it.
    """
    if any(environ.get(name, "") for name in USER_WAIT_SETTINGS):
        return None
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"


def main(argv: Sequence[str] | None = None) -> int:
    set_openmp_defaults()
    from ftd_nas.cli import main as cli_main  # imports torch: only after the OpenMP defaults are in place

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
