#!/usr/bin/env python
"""Coverage of the report's intervals in seeded simulations: the settings of tests/agreement/test_paired.py and
test_ceiling.py, at a size you choose. Prints a table and writes JSON (docs/statistics.md quotes it).

    python scripts/calibration.py --datasets 200 --out docs/statistics_calibration.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' simulated spaces

from tests.agreement.calibration import method_design, proxy_design, reliability  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", type=int, default=200, help="simulated datasets per case")
    p.add_argument("--out", default=None, help="write the results here as JSON")
    args = p.parse_args()
    results = {"comparisons": [method_design(args.datasets, 0.8), method_design(args.datasets, 1.3),
                               proxy_design(args.datasets)],
               "reliability": [reliability(args.datasets, 0.5), reliability(args.datasets, 1.2)]}
    print("| design | case | datasets | coverage of 95% | SE / true spread |\n|---|---|---|---|---|")
    for r in results["comparisons"]:
        case = f"noise b {r['noise_b']}" if r["design"] == "proxies" else f"gap {r['target']:.3f}"
        print(f"| {r['design']} | {case} | {r['datasets']} | {r['coverage']:.1%} | {r['se_over_spread']:.2f} |")
    print("\n| truth noise | target r | mean estimate | coverage of 95% |\n|---|---|---|---|")
    for r in results["reliability"]:
        print(f"| {r['noise']} | {r['target']:.3f} | {r['mean_estimate']:.3f} | {r['coverage']:.1%} |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
