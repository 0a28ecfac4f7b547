"""`ftd-nas truth`: a ground truth from a published benchmark table, without training."""

from __future__ import annotations

import argparse

from ftd_nas.cli.common import add_overwrite_arg
from ftd_nas.search.results import METRICS
from ftd_nas.search.table_truth import (DEFAULT_ACCURACY_COLUMN, DEFAULT_FAMILY, DEFAULT_ID_COLUMN, SCALE_CHOICES,
                                        TableTruthConfig, make_table_truth)

HELP = "make a truth folder from a published table (CSV or NATS-Bench archive) for report --truth and verify"
DESCRIPTION = f"""\
Match a published benchmark table against a search space and write a truth folder (truth.json) that
`report --truth DIR` and `verify --real-run DIR` accept like a real-data search run, without training anything.

--table FILE.csv: a CSV with a header line; --id-column holds each architecture's id, which must be a candidate
id of --space (`search --space NAME --show` lists them), and --accuracy-column its accuracy (defaults:
NAS-Bench-201's table, {DEFAULT_ID_COLUMN} and {DEFAULT_ACCURACY_COLUMN}). --archive DIR instead reads
NATS-Bench's own topology archive (NATS-tss-v1_0-3ffb9-simple/*.pickle.pbz2) with a restricted unpickler that
runs no code: the --archive-split accuracy after --archive-hp epochs on --archive-dataset, averaged over seeds.

Accuracies in percent (any value above 1, or --scale percent) are stored as fractions, as runs store theirs.
--dataset-family names the data the publisher measured on (default {DEFAULT_FAMILY}); a run is judged against the
table only when its data is of that family: a named dataset is of the family of its name, data from a file or
folder only by its class names. Ids that are no candidate of the space are refused unless --allow-unknown (then
counted in truth.json); a table covering none of the space is refused."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("truth", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", metavar="FILE.csv", help="a CSV table of architecture ids and accuracies")
    source.add_argument("--archive", metavar="DIR", help="NATS-Bench's topology archive folder (*.pickle.pbz2)")
    p.add_argument("--space", required=True, help="the search space the table covers (a name or a YAML file)")
    p.add_argument("--out", required=True, metavar="DIR", help="the truth folder to write (truth.json)")
    p.add_argument("--id-column", default=DEFAULT_ID_COLUMN, help=f"(CSV) column of ids (default {DEFAULT_ID_COLUMN})")
    p.add_argument("--accuracy-column", default=DEFAULT_ACCURACY_COLUMN,
                   help=f"(CSV) column of accuracies (default {DEFAULT_ACCURACY_COLUMN})")
    p.add_argument("--dataset-family", default=DEFAULT_FAMILY, metavar="NAME",
                   help=f"the dataset the table was measured on, lower case (default {DEFAULT_FAMILY})")
    p.add_argument("--metric", default="test_acc", choices=METRICS,
                   help="which of a run's accuracies the table's are (default test_acc)")
    p.add_argument("--scale", default="auto", choices=SCALE_CHOICES,
                   help="the table's accuracies are percent or fractions; auto: percent when any value is above 1")
    p.add_argument("--allow-unknown", action="store_true",
                   help="leave out ids that are no candidate of the space (counted in truth.json) instead of refusing")
    p.add_argument("--archive-hp", default="200", help="(archive) training epochs of the results: 12 or 200")
    p.add_argument("--archive-dataset", default=None, metavar="NAME",
                   help="(archive) the benchmark's dataset: cifar10, cifar100, ImageNet16-120 (default: the family)")
    p.add_argument("--archive-split", default="ori-test",
                   help="(archive) the evaluation split: ori-test, x-valid or x-test (default ori-test)")
    p.add_argument("--no-progress", action="store_true", help="never show progress bars")
    add_overwrite_arg(p, "a truth of another table or settings in --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = TableTruthConfig(space=args.space, out=args.out, table=args.table, archive=args.archive,
                              id_column=args.id_column, accuracy_column=args.accuracy_column,
                              dataset_family=args.dataset_family, metric=args.metric, scale=args.scale,
                              allow_unknown=args.allow_unknown, archive_hp=args.archive_hp,
                              archive_dataset=args.archive_dataset, archive_split=args.archive_split,
                              progress=False if args.no_progress else None)
    record = make_table_truth(config, overwrite=args.overwrite)
    scale = f"{record.scale} ({'read off the values' if record.scale_detected else 'given'}), stored as fractions"
    print(f"truth from {record.source.name} (sha256 {record.source.sha256[:12]}): {record.covered} of the "
          f"{record.space_size} candidates of {record.space['name']} covered, {len(record.missing)} missing, "
          f"{record.unknown} ids of no candidate left out; {record.source.accuracy_column} as {record.metric}, "
          f"{scale}; dataset family {record.dataset_family}")
    print(f"written: {args.out}/truth.json (use it: ftd-nas report RUN... --truth {args.out})")
    return 0
