"""Bad inputs through the real CLI: every one ends with the exit code of its class, one clear message that names
the offending option or file, no traceback, and no file that existed before is changed.

Each case runs in a subprocess on its own copy of a small workspace (experts, a proxy, finished search runs,
and broken files of every kind); the cases run a few at a time, since each is a fresh Python process.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

USAGE, INPUT, NUMERICAL, STORAGE = 2, 3, 4, 5
SPACE = ("name: two\naxes:\n  depth: [1]\n  width: [4, 8]\n  norm: [instancenorm, none]\n  act: [relu]\n"
         "  pool: [avgpool]\n")
E = ["--experts", "{ws}/experts", "--out", "{ws}/new.safetensors", "--ipc", "1", "--syn-steps", "2",
     "--max-start-epoch", "1", "--iterations", "1"]  # distill from the workspace's experts, if it gets that far
D = ["--dataset", "digits"]
S = ["--space", "{ws}/space.yaml"]
I = ["--images", "{ws}/images.pt"]  # four blank digits-shaped images, to import with the labels of a case

# id: (arguments, exit code, text the message must contain)
CASES = {
    # the command line itself
    "no-command": ([], USAGE, "COMMAND"),
    "unknown-command": (["fly"], USAGE, "invalid choice: 'fly'"),
    "train-epochs-0": (["train", "--epochs", "0"], USAGE, "--epochs"),
    "train-epochs-text": (["train", "--epochs", "ten"], USAGE, "--epochs"),
    "train-lr-negative": (["train", "--lr", "-1"], USAGE, "--lr"),
    "train-lr-nan": (["train", "--lr", "nan"], USAGE, "--lr"),
    "train-momentum-negative": (["train", "--momentum", "-0.5"], USAGE, "--momentum"),
    "train-batch-0": (["train", "--batch-size", "0"], USAGE, "--batch-size"),
    "train-width-0": (["train", "--width", "0"], USAGE, "--width"),
    "train-depth-9": (["train", "--depth", "9"], USAGE, "--depth"),
    "train-val-fraction": (["train", "--val-fraction", "1.5"], USAGE, "--val-fraction"),
    "train-image-size": (["train", "--image-size", "2"], USAGE, "--image-size"),
    "train-dsa-unknown": (["train", "--dsa", "wobble", "--epochs", "1"], USAGE, "wobble"),
    "train-device-unknown": (["train", "--device", "tpu", "--epochs", "1"], USAGE, "tpu"),
    "train-depth-too-deep-for-images": (["train", "--depth", "5", "--epochs", "1"], USAGE, "--depth"),
    "data-zca-eps-0": (["data", "--zca-eps", "0"], USAGE, "--zca-eps"),
    "data-split-seed-negative": (["data", "--split-seed", "-1"], USAGE, "--split-seed"),
    # datasets
    "dataset-unknown": (["data", "--dataset", "imagenet-22k"], USAGE, "imagenet-22k"),
    "dataset-npz-missing": (["data", "--dataset", "npz:{ws}/missing.npz"], INPUT, "missing.npz"),
    "dataset-npz-garbage": (["data", "--dataset", "npz:{ws}/garbage.bin"], INPUT, "garbage.bin"),
    "dataset-npz-float-pixels": (["data", "--dataset", "npz:{ws}/floats.npz"], INPUT, "uint8"),
    "dataset-folder-missing": (["data", "--dataset", "folder:{ws}/nowhere"], INPUT, "nowhere"),
    "dataset-cifar-missing": (["data", "--dataset", "cifar10", "--data-root", "{ws}/empty"], INPUT,
                              "cifar-10-batches-py"),
    "dataset-npz-without-path": (["data", "--dataset", "npz:"], USAGE, "npz:"),
    # outputs
    "json-exists": (["train", "--epochs", "1", "--json", "{ws}/result.json"], USAGE, "--overwrite"),
    "json-under-a-file": (["data", "--json", "{ws}/result.json/sub.json"], INPUT, "result.json"),
    "experts-out-is-a-file": (["experts", "--epochs", "1", "--num-experts", "1", "--out", "{ws}/result.json"],
                              INPUT, "result.json"),
    # experts
    "experts-count-0": (["experts", "--num-experts", "0"], USAGE, "--num-experts"),
    "experts-epochs-negative": (["experts", "--epochs", "-3"], USAGE, "--epochs"),
    "experts-rho-negative": (["experts", "--rho", "-1"], USAGE, "--rho"),
    "experts-stale-after-0": (["experts", "--stale-after", "0"], USAGE, "--stale-after"),
    "experts-shard-out-of-range": (["experts", "--shard", "3/2", "--out", "{ws}/x"], USAGE, "--shard"),
    "experts-shard-text": (["experts", "--shard", "half", "--out", "{ws}/x"], USAGE, "--shard"),
    "experts-other-settings": (["experts", "--width", "4", "--depth", "1", "--epochs", "2", "--num-experts", "3",
                                "--optimizer", "sgd", "--out", "{ws}/experts"], USAGE, "train.optimizer"),
    "flatness-no-dataset": (["experts", "--flatness", "{ws}/experts"], USAGE, "--dataset digits"),
    "flatness-missing-folder": (["experts", "--flatness", "{ws}/nowhere", *D], INPUT, "nowhere"),
    "flatness-corrupt-expert": (["experts", "--flatness", "{ws}/corrupt_experts", *D], INPUT, "expert_0000"),
    "flatness-sigma-negative": (["experts", "--flatness", "{ws}/experts", *D, "--sigma", "-1"], USAGE, "--sigma"),
    "flatness-other-data": (["experts", "--flatness", "{ws}/experts", "--dataset", "npz:{ws}/other.npz"], INPUT,
                            "is not the data of"),
    # distill
    "distill-no-dataset": (["distill", *E], USAGE, "--dataset digits"),
    "distill-missing-experts": (["distill", "--experts", "{ws}/nowhere", *D, "--out", "{ws}/p"], INPUT, "nowhere"),
    "distill-empty-experts": (["distill", "--experts", "{ws}/empty", *D, "--out", "{ws}/p"], INPUT,
                              "no finished experts"),
    "distill-ipc-0": (["distill", *E, *D, "--ipc", "0"], USAGE, "--ipc"),
    "distill-lr-img-negative": (["distill", *E, *D, "--lr-img", "-1"], USAGE, "--lr-img"),
    "distill-ema-decay-1": (["distill", *E, *D, "--ema-decay", "1.5"], USAGE, "--ema-decay"),
    "distill-iterations-0": (["distill", *E, *D, "--iterations", "0"], USAGE, "--iterations"),
    "distill-batch-syn-0": (["distill", *E, *D, "--batch-syn", "0"], USAGE, "--batch-syn"),
    "distill-preset-unknown": (["distill", *E, *D, "--preset", "mnist"], USAGE, "mnist"),
    "distill-start-beyond-experts": (["distill", *E, *D, "--max-start-epoch", "50"], USAGE, "--max-start-epoch"),
    "distill-wrong-method": (["distill", *E, *D, "--method", "mtt"], INPUT, "--optimizer sgd"),
    "distill-other-data": (["distill", *E, "--dataset", "npz:{ws}/other.npz"], INPUT, "is not the data of"),
    "distill-overwrite-proxy": (["distill", "--experts", "{ws}/experts", *D, "--out", "{ws}/proxy.safetensors",
                                 "--ipc", "1", "--syn-steps", "3", "--max-start-epoch", "1", "--iterations", "1",
                                 "--work-dir", "{ws}/other.run"], USAGE, "--overwrite"),
    "distill-corrupt-checkpoint": (["distill", *E, *D, "--ipc", "1", "--syn-steps", "2", "--max-start-epoch", "1",
                                    "--iterations", "2", "--work-dir", "{ws}/corrupt.run"], INPUT, "checkpoint.pt"),
    # evaluate
    "evaluate-missing-proxy": (["evaluate", "{ws}/nowhere.safetensors", *D], INPUT, "nowhere.safetensors"),
    "evaluate-garbage-proxy": (["evaluate", "{ws}/garbage.bin", *D], INPUT, "garbage.bin"),
    "evaluate-truncated-proxy": (["evaluate", "{ws}/truncated.safetensors", *D], INPUT, "truncated.safetensors"),
    "evaluate-foreign-safetensors": (["evaluate", "{ws}/foreign.safetensors", *D], INPUT, "foreign.safetensors"),
    "evaluate-no-dataset": (["evaluate", "{ws}/proxy.safetensors"], USAGE, "--dataset digits"),
    "evaluate-runs-0": (["evaluate", "{ws}/proxy.safetensors", *D, "--runs", "0"], USAGE, "--runs"),
    "evaluate-epochs-0": (["evaluate", "{ws}/proxy.safetensors", *D, "--epochs", "0"], USAGE, "--epochs"),
    "evaluate-lr-0": (["evaluate", "{ws}/proxy.safetensors", *D, "--lr", "0"], USAGE, "--lr"),
    "evaluate-unknown-model": (["evaluate", "{ws}/proxy.safetensors", *D, "--models", "lenet"], USAGE, "lenet"),
    "evaluate-nan-proxy": (["evaluate", "{ws}/nan.safetensors", *D, "--runs", "1", "--epochs", "1"], NUMERICAL,
                           "NaN"),
    "evaluate-huge-proxy": (["evaluate", "{ws}/huge.safetensors", *D, "--runs", "1", "--epochs", "1"], NUMERICAL,
                            "far outside"),
    "evaluate-other-data": (["evaluate", "{ws}/proxy.safetensors", "--dataset", "npz:{ws}/other.npz"], INPUT,
                            "is not the data of"),
    "evaluate-symlinked-evaluations": (["evaluate", "{ws}/linked.safetensors", *D, "--runs", "1", "--epochs", "1"],
                                       INPUT, "is a symbolic link"),
    "evaluate-json-exists": (["evaluate", "{ws}/proxy.safetensors", *D, "--json", "{ws}/result.json"], USAGE,
                             "--overwrite"),
    # search
    "search-no-proxy": (["search", *S, "--out", "{ws}/r"], USAGE, "--proxy"),
    "search-unknown-space": (["search", "--space", "nonesuch", "--proxy", "real", *D, "--out", "{ws}/r"], USAGE,
                             "nonesuch"),
    "search-empty-space": (["search", "--space", "{ws}/empty.yaml", "--proxy", "real", *D, "--out", "{ws}/r"],
                           INPUT, "empty.yaml"),
    "search-invalid-yaml": (["search", "--space", "{ws}/broken.yaml", "--proxy", "real", *D, "--out", "{ws}/r"],
                            INPUT, "broken.yaml"),
    "search-bad-axis-value": (["search", "--space", "{ws}/badaxis.yaml", "--proxy", "real", *D, "--out", "{ws}/r"],
                              INPUT, "line 3"),
    "search-random-negative": (["search", *S, "--proxy", "random:-1", *D, "--out", "{ws}/r"], USAGE, "random:-1"),
    "search-random-zero": (["search", *S, "--proxy", "random:0", *D, "--out", "{ws}/r"], USAGE, "random:0"),
    "search-random-too-many": (["search", *S, "--proxy", "random:100000", *D, "--out", "{ws}/r"], USAGE, "100000"),
    "search-no-dataset": (["search", *S, "--proxy", "real", "--out", "{ws}/r"], USAGE, "--dataset"),
    "search-proxy-no-dataset": (["search", *S, "--proxy", "{ws}/proxy.safetensors", "--out", "{ws}/r"], USAGE,
                                "--dataset digits"),
    "search-zca-with-proxy": (["search", *S, "--proxy", "{ws}/proxy.safetensors", *D, "--zca", "--out", "{ws}/r"],
                              USAGE, "--zca"),
    "search-tpe-without-budget": (["search", *S, "--proxy", "real", *D, "--sampler", "tpe", "--out", "{ws}/r"],
                                  USAGE, "--n-trials"),
    "search-grace-below-heartbeat": (["search", *S, "--proxy", "real", *D, "--heartbeat", "10", "--grace", "5",
                                      "--out", "{ws}/r"], USAGE, "--grace"),
    "search-devices-text": (["search", *S, "--proxy", "real", *D, "--devices", "a,b", "--out", "{ws}/r"], USAGE,
                            "--devices"),
    "search-unknown-storage": (["search", *S, "--proxy", "real", *D, "--storage", "nosuchdb://x/y", "--out",
                                "{ws}/r"], STORAGE, "nosuchdb"),
    "search-corrupt-database": (["search", *S, "--proxy", "real", *D, "--storage", "sqlite:///{ws}/garbage.bin",
                                 "--out", "{ws}/r"], STORAGE, "garbage.bin"),
    "search-storage-password-hidden": (["search", *S, "--proxy", "real", *D, "--storage",
                                        "postgresql://me:hunter2@127.0.0.1:1/db", "--out", "{ws}/r"], STORAGE,
                                       "127.0.0.1:1"),
    "search-other-settings": (["search", *S, "--proxy", "real", *D, "--epochs", "3", "--dsa", "none", "--out",
                               "{ws}/truth"], USAGE, "recipe.epochs"),
    "search-nan-proxy": (["search", *S, "--proxy", "{ws}/nan.safetensors", *D, "--out", "{ws}/r"], NUMERICAL, "NaN"),
    "search-slurm-with-sqlite": (["search", *S, "--proxy", "real", *D, "--storage", "sqlite:///{ws}/x.db",
                                  "--slurm-script", "2", "--out", "{ws}/r"], USAGE, "SQLite"),
    "search-slurm-option-bad": (["search", *S, "--proxy", "real", *D, "--slurm-script", "2", "--slurm-option",
                                 "partition=gpu", "--out", "{ws}/r"], USAGE, "--slurm-option"),
    "search-slurm-0": (["search", *S, "--proxy", "real", *D, "--slurm-script", "0", "--out", "{ws}/r"], USAGE,
                       "--slurm-script"),
    "search-journal-no-folder": (["search", *S, "--proxy", "real", *D, "--storage", "journal:{ws}/no/dir/x.journal",
                                  "--out", "{ws}/r"], STORAGE, "does not exist"),
    "search-journal-garbage": (["search", *S, "--proxy", "real", *D, "--storage", "journal:{ws}/garbage.bin",
                                "--out", "{ws}/r"], STORAGE, "not an optuna journal"),
    "search-plan-sample-0": (["search", *S, "--proxy", "real", *D, "--plan", "--plan-sample", "0"], USAGE,
                             "--plan-sample"),
    "search-workers-0": (["search", *S, "--proxy", "real", *D, "--workers", "0", "--out", "{ws}/r"], USAGE,
                         "--workers"),
    "search-workers-and-devices": (["search", *S, "--proxy", "real", *D, "--workers", "3", "--devices", "0,1",
                                    "--out", "{ws}/r"], USAGE, "disagree"),
    "search-storage-password-awkward": (["search", *S, "--proxy", "real", *D, "--storage",
                                         "postgresql://me:hunter2/ x#?:@y@127.0.0.1:1/db", "--out", "{ws}/r"],
                                        STORAGE, "127.0.0.1:1"),
    "search-symlinked-slurm-folder": (["search", *S, "--proxy", "real", *D, "--slurm-script", "2", "--out",
                                       "{ws}/slurm_link_run"], INPUT, "is a symbolic link"),
    "search-symlinked-study-db": (["search", *S, "--proxy", "real", *D, "--out", "{ws}/linked_run"], INPUT,
                                  "is a symbolic link"),
    "threads-0": (["--threads", "0", "data"], USAGE, "--threads"),
    "threads-too-many": (["--threads", "100000", "data"], USAGE, "--threads 100000 is more than"),
    "search-plan-json-exists": (["search", *S, "--proxy", "real", *D, "--plan", "--plan-json", "{ws}/result.json"],
                                USAGE, "--overwrite"),
    "search-slurm-time-newline": (["search", *S, "--proxy", "real", *D, "--slurm-script", "2", "--slurm-time",
                                   "1:00\nrm -rf ~", "--out", "{ws}/r"], USAGE, "--slurm-time takes sbatch's time"),
    "search-slurm-over-sqlite-work": (["search", *S, "--proxy", "{ws}/proxy.safetensors", *D, "--epochs", "1",
                                       "--slurm-script", "2", "--out", "{ws}/run"], USAGE, "train them all again"),
    "search-max-params-inf": (["search", "--space", "{ws}/inf.yaml", "--proxy", "real", *D, "--out", "{ws}/r"], INPUT,
                              "max_params must be a finite number"),
    "search-max-params-nan": (["search", "--space", "{ws}/nan.yaml", "--proxy", "real", *D, "--out", "{ws}/r"], INPUT,
                              "max_params must be a finite number"),
    "search-no-admissible-candidate": (["search", "--space", "{ws}/tight.yaml", "--proxy", "real", *D, "--out",
                                        "{ws}/r"], INPUT, "no candidate of space"),
    # a journal: an operation this optuna cannot replay, a damaged line
    "search-journal-unknown-operation": (["search", *S, "--proxy", "random:2", *D, "--epochs", "1", "--dsa", "none",
                                          "--out", "{ws}/junknown_run"], STORAGE, "cannot replay (op_code 99)"),
    "status-journal-unknown-operation": (["status", "{ws}/junknown_run"], STORAGE, "cannot replay (op_code 99)"),
    "report-journal-unknown-operation": (["report", "{ws}/junknown_run", "--truth", "{ws}/truth"], STORAGE,
                                         "cannot replay (op_code 99)"),
    "status-journal-damaged-line": (["status", "{ws}/jdamaged_run"], STORAGE, "line 3 of the journal"),
    # status
    "status-missing-run": (["status", "{ws}/nowhere"], INPUT, "nowhere"),
    "status-corrupt-study": (["status", "{ws}/corrupt_run"], STORAGE, "study.db"),
    "status-window-0": (["status", "{ws}/run", "--window", "0"], USAGE, "--window"),
    "status-run-json-sqlite-url": (["status", "{ws}/sqlite_url_run"], INPUT,
                                   "does not open a file that a run.json points to"),
    "status-run-json-server-url": (["status", "{ws}/server_url_run"], INPUT,
                                   "does not connect to a server that a run folder names"),
    "report-run-json-server-url": (["report", "{ws}/server_url_run", "--truth", "{ws}/truth"], INPUT,
                                   "give --storage postgresql://me@db.example:5432/ftd"),
    "verify-run-json-server-url": (["verify", "{ws}/server_url_run", *D, "--out", "{ws}/v"], INPUT,
                                   "does not connect to a server that a run folder names"),
    # the storage named by the user is opened (the run's own study, as a URL): verify goes on to its next check
    "verify-search-storage-given": (["verify", "{ws}/server_url_run", *D, "--top", "9", "--out", "{ws}/v",
                                     "--search-storage", "sqlite:///{ws}/server_url_run/study.db"], USAGE,
                                    "--top 9"),
    "status-symlinked-study-db": (["status", "{ws}/linked_run"], INPUT, "is a symbolic link"),
    "status-corrupt-study-pages": (["status", "{ws}/torn_db_run"], STORAGE, "is not a usable SQLite database"),
    # verify
    "verify-no-dataset": (["verify", "{ws}/run", "--out", "{ws}/v"], USAGE, "--dataset"),
    "verify-missing-run": (["verify", "{ws}/nowhere", *D, "--out", "{ws}/v"], INPUT, "nowhere"),
    "verify-top-0": (["verify", "{ws}/run", *D, "--top", "0", "--out", "{ws}/v"], USAGE, "--top"),
    "verify-width-without-budget": (["verify", "{ws}/run", *D, "--until-width", "0.3", "--out", "{ws}/v"], USAGE,
                                    "--budget"),
    "verify-top-too-many": (["verify", "{ws}/run", *D, "--top", "9", "--out", "{ws}/v"], USAGE, "--top 9"),
    "verify-untrusted-factory": (["verify", "{ws}/factory_run", *D, "--top", "1", "--sample", "0", "--out", "{ws}/v"],
                                 USAGE, "pass --trust-factory"),
    "verify-corrupt-verify-json": (["verify", "{ws}/run", *D, "--top", "1", "--sample", "1", "--out",
                                    "{ws}/corrupt_verify"], INPUT, "pass --overwrite to replace it"),
    "verify-another-search-in-out": (["verify", "{ws}/partial", *D, "--top", "1", "--sample", "0", "--out",
                                      "{ws}/verified"], USAGE, "holds the verification of another search"),
    # report
    "report-no-truth": (["report", "{ws}/run"], USAGE, "--truth"),
    "report-missing-run": (["report", "{ws}/nowhere", "--truth", "{ws}/truth"], INPUT, "nowhere"),
    "report-truth-not-real": (["report", "{ws}/run", "--truth", "{ws}/run"], USAGE, "--truth"),
    "report-ks-0": (["report", "{ws}/run", "--truth", "{ws}/truth", "--ks", "0"], USAGE, "--ks"),
    "report-ks-text": (["report", "{ws}/run", "--truth", "{ws}/truth", "--ks", "five"], USAGE, "--ks"),
    "report-bootstrap-0": (["report", "{ws}/run", "--truth", "{ws}/truth", "--bootstrap", "0"], USAGE, "--bootstrap"),
    "report-partial": (["report", "{ws}/partial", "--truth", "{ws}/truth"], USAGE, "--allow-partial"),
    "report-other-runs-in-out": (["report", "{ws}/run", "--truth", "{ws}/truth", "--out", "{ws}/report",
                                  "--allow-partial"], USAGE, "--overwrite"),
    "report-broken-run-json": (["report", "{ws}/broken_run", "--truth", "{ws}/truth"], INPUT, "run.json"),
    "report-run-json-escapes": (["report", "{ws}/escaping_run", "--truth", "{ws}/truth"], INPUT,
                                "not a path inside the run folder"),
    "report-corrupt-study": (["report", "{ws}/corrupt_run", "--truth", "{ws}/truth"], STORAGE, "study.db"),
    "report-run-json-relative-sqlite-url": (["report", "{ws}/relative_url_run", "--truth", "{ws}/truth"], INPUT,
                                            "does not open a file that a run.json points to"),
    "report-corrupt-study-pages": (["report", "{ws}/torn_db_run", "--truth", "{ws}/truth"], STORAGE,
                                   "is not a usable SQLite database"),
    "report-truth-table-of-another-family": (["report", "{ws}/run", "--truth", "{ws}/cifar_truth"], USAGE,
                                             "measured on cifar10"),
    "verify-truth-table-of-another-family": (["verify", "{ws}/run", *D, "--top", "1", "--sample", "1",
                                              "--real-run", "{ws}/cifar_truth", "--out", "{ws}/v"], USAGE,
                                             "measured on cifar10"),
    # truth
    "truth-no-table": (["truth", *S, "--out", "{ws}/t"], USAGE, "--table"),
    "truth-table-and-archive": (["truth", "--table", "{ws}/table.csv", "--archive", "{ws}/evil_archive", *S, "--out",
                                 "{ws}/t"], USAGE, "--archive"),
    "truth-missing-table": (["truth", "--table", "{ws}/nowhere.csv", *S, "--out", "{ws}/t"], INPUT, "nowhere.csv"),
    "truth-unknown-candidate": (["truth", "--table", "{ws}/unknown.csv", *S, "--out", "{ws}/t"], INPUT,
                                "line 4: 'd3-w4-relu-none-avgpool' is no candidate of the space"),
    "truth-no-id-column": (["truth", "--table", "{ws}/table.csv", "--id-column", "arch", *S, "--out", "{ws}/t"],
                           INPUT, "no column 'arch' (--id-column)"),
    "truth-covers-none": (["truth", "--table", "{ws}/foreign.csv", *S, "--out", "{ws}/t"], INPUT, "covers none"),
    "truth-not-a-number": (["truth", "--table", "{ws}/text.csv", *S, "--out", "{ws}/t"], INPUT,
                           "line 3: column 'CIFAR10TestAccuracy200Epochs' holds 'high'"),
    "truth-archive-holding-an-object": (["truth", "--archive", "{ws}/evil_archive", *S, "--out", "{ws}/t"], INPUT,
                                        "refusing"),
    "truth-archive-not-a-pickle": (["truth", "--archive", "{ws}/garbage_archive", *S, "--out", "{ws}/t"], INPUT,
                                   "000000.pickle.pbz2"),
    "truth-family-text": (["truth", "--table", "{ws}/table.csv", *S, "--dataset-family", "CIFAR 10", "--out",
                           "{ws}/t"], USAGE, "--dataset-family"),
    "truth-over-another-truth": (["truth", "--table", "{ws}/unknown.csv", "--allow-unknown", *S, "--dataset-family",
                                  "cifar10", "--out", "{ws}/cifar_truth"], USAGE, "--overwrite"),
    "truth-into-a-run": (["truth", "--table", "{ws}/table.csv", *S, "--out", "{ws}/run"], USAGE,
                         "is a search run folder"),
    # curves
    "curves-missing": (["curves", "{ws}/nowhere"], INPUT, "nowhere"),
    "curves-broken-log": (["curves", "{ws}/broken_log"], INPUT, "log.jsonl"),
    "curves-label-count": (["curves", "{ws}/experts", "--label", "a", "--label", "b"], USAGE, "--label"),
    "curves-figure-exists": (["curves", "{ws}/experts", "--out", "{ws}/fig"], USAGE, "--overwrite"),
    # select and import
    "select-ipc-0": (["select", "--ipc", "0", "--out", "{ws}/s.safetensors"], USAGE, "--ipc"),
    "select-unknown-method": (["select", "--method", "kmeans", "--out", "{ws}/s.safetensors"], USAGE, "kmeans"),
    "select-over-another-proxy": (["select", "--method", "random", "--ipc", "1", "--out", "{ws}/proxy.safetensors"],
                                  USAGE, "--overwrite"),
    "import-missing-file": (["import", "--images", "{ws}/nowhere.pt", "--labels", "{ws}/nowhere.pt", *D, "--out",
                             "{ws}/i.safetensors"], INPUT, "nowhere.pt"),
    "import-malicious-pickle": (["import", "--images", "{ws}/evil.pt", "--labels", "{ws}/evil.pt", *D, "--out",
                                 "{ws}/i.safetensors"], INPUT, "refusing"),
    "import-wrong-shape": (["import", "--images", "{ws}/small.pt", "--labels", "{ws}/labels.pt", *D, "--out",
                            "{ws}/i.safetensors"], INPUT, "another dataset"),
    "import-no-labels": (["import", "--images", "{ws}/small.pt", *D, "--out", "{ws}/i.safetensors"], USAGE,
                         "--labels"),
    "train-spec-extra-axis": (["train", "--spec", "{ws}/pick_extra.json", *D, "--epochs", "1"], INPUT,
                              "has no axes ['extra']"),
    "import-lr-text": (["import", "--images", "{ws}/small.pt", "--labels", "{ws}/labels.pt", "--lr", "fast", *D,
                        "--out", "{ws}/i.safetensors"], USAGE, "--lr"),
    "import-lr-nan": (["import", *I, "--labels", "{ws}/labels.pt", "--lr", "nan", *D, "--out", "{ws}/i.safetensors"],
                      USAGE, "--lr"),
    "import-labels-out-of-range": (["import", *I, "--labels", "{ws}/labels_12.pt", *D, "--out", "{ws}/i.safetensors"],
                                   INPUT, "labels outside 0..9"),
    "import-negative-labels": (["import", *I, "--labels", "{ws}/labels_negative.pt", *D, "--out",
                                "{ws}/i.safetensors"], INPUT, "labels outside 0..9"),
    "import-nan-soft-label-row": (["import", *I, "--labels", "{ws}/soft_nan.pt", *D, "--out", "{ws}/i.safetensors"],
                                  INPUT, "label row 2 holds NaN"),
    "import-object-array-npz": (["import", "--images", "{ws}/objects.npz", *D, "--out", "{ws}/i.safetensors"], INPUT,
                                "holds Python objects"),
    "import-images-of-different-sizes": (["import", *I, "--labels", "{ws}/labels.pt", "--images", "{ws}/small.pt",
                                          "--labels", "{ws}/labels.pt", *D, "--out", "{ws}/i.safetensors"], INPUT,
                                         "images of different shapes"),
    "import-empty-set": (["import", "--images", "{ws}/no_images.pt", "--labels", "{ws}/no_labels.pt", *D, "--out",
                          "{ws}/i.safetensors"], INPUT, "there are no images"),
    # demo
    "demo-out-is-a-file": (["demo", "--out", "{ws}/result.json", "--device", "cpu"], INPUT, "result.json"),
    "demo-no-cuda": (["demo", "--device", "cuda:3"], USAGE, "cuda"),
}


class _MakesMarker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _save_proxy(proxy, path, images):
    from dataclasses import replace

    replace(proxy, images=images, raw_images=None).save(path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, digits):
    """Experts, a proxy, finished runs and broken files of every kind, built once; each case gets a copy."""
    import numpy as np
    from safetensors.torch import save_file

    from ftd_nas.distill import distill, resolve_config
    from ftd_nas.experts import ExpertConfig, expert_train_config, train_experts
    from ftd_nas.figures.curves import load_curves, write_curves
    from ftd_nas.models import ModelSpec
    from ftd_nas.search import run_search
    from tests.conftest import search_config

    ws = tmp_path_factory.mktemp("workspace")
    train_experts(ExpertConfig(model=ModelSpec(width=4, depth=1), num_experts=2,
                               train=expert_train_config("gsam", epochs=3, progress=False)), ws / "experts",
                  dataset=digits, device="cpu")
    proxy = distill(resolve_config("digits", 1, "ftd", syn_steps=2, max_start_epoch=1, iterations=1),
                    ws / "experts", ws / "proxy.safetensors", dataset=digits, progress=False)
    (ws / "space.yaml").write_text(SPACE)
    for name, source in (("truth", "real"), ("run", str(ws / "proxy.safetensors"))):
        run_search(search_config(ws / "space.yaml", ws / name, proxy=source, epochs=1), dataset=digits)
    # a run that finished one candidate of four
    from ftd_nas.search import runner

    real, calls = runner.train_candidate, []

    def once(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    runner.train_candidate = once
    try:
        run_search(search_config(ws / "space.yaml", ws / "partial", proxy="random:2", epochs=1), dataset=digits)
    except KeyboardInterrupt:
        pass
    finally:
        runner.train_candidate = real
    write_curves([load_curves(ws / "experts")], ws / "fig")
    (ws / "report").mkdir()
    (ws / "report" / "report.json").write_text(json.dumps({"inputs": {"runs": ["elsewhere"]}}))
    # broken and foreign files
    (ws / "empty").mkdir()
    (ws / "garbage.bin").write_bytes(b"\x00garbage" * 100)
    (ws / "result.json").write_text("{}\n")
    data = (ws / "proxy.safetensors").read_bytes()
    (ws / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    save_file({"weight": torch.zeros(3)}, str(ws / "foreign.safetensors"))
    _save_proxy(proxy, ws / "huge.safetensors", proxy.images * 1e6)
    nan = proxy.images.clone()
    nan[0, 0, 0, 0] = float("nan")
    proxy.tensors = lambda: {**type(proxy).tensors(proxy), "images": nan}  # Proxy.save refuses NaN: write around it
    save_file(proxy.tensors(), str(ws / "nan.safetensors"),
              metadata={"ftd_nas": json.dumps(proxy.record.to_dict())})
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 16, 16, 1), dtype=np.uint8)
    y = np.arange(60) % 10
    np.savez(ws / "other.npz", x_train=x, y_train=y, x_test=x[:20], y_test=y[:20])
    np.savez(ws / "floats.npz", x_train=x / 255.0, y_train=y, x_test=x[:20] / 255.0, y_test=y[:20])
    (ws / "empty.yaml").write_text("")
    (ws / "broken.yaml").write_text("axes: [depth: 1\n")
    (ws / "badaxis.yaml").write_text("axes:\n  depth: [1]\n  width: [-4]\n  norm: [none]\n  act: [relu]\n"
                                     "  pool: [none]\n")
    shutil.copytree(ws / "experts", ws / "corrupt_experts")
    first = ws / "corrupt_experts" / "expert_0000.safetensors"
    first.write_bytes(first.read_bytes()[:200])
    (ws / "corrupt.run").mkdir()
    (ws / "corrupt.run" / "checkpoint.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    for name, change in (("broken_run", lambda p: (p / "run.json").write_text("{not json")),
                         ("escaping_run", lambda p: (p / "run.json").write_text(json.dumps(
                             {**json.loads((p / "run.json").read_text()), "storage": "../truth/study.db"}))),
                         ("corrupt_run", lambda p: (p / "study.db").write_bytes(b"\x00" * 4096))):
        shutil.copytree(ws / "run", ws / name)
        change(ws / name)
    # received runs that point elsewhere: a SQLite URL (absolute: at the workspace built here, outside each case's
    # copy; relative to the working directory), a study.db and a slurm/ that are links, a factory to import
    for name, location in (("sqlite_url_run", f"sqlite:///{ws / 'run' / 'study.db'}"),
                           ("relative_url_run", "sqlite:///run/study.db"),
                           ("server_url_run", "postgresql://me@db.example:5432/ftd")):
        shutil.copytree(ws / "run", ws / name)
        (ws / name / "run.json").write_text(json.dumps({**json.loads((ws / name / "run.json").read_text()),
                                                        "storage": location}))
    (ws / "outside").mkdir()
    shutil.copytree(ws / "run", ws / "linked_run")
    (ws / "linked_run" / "study.db").unlink()
    (ws / "linked_run" / "study.db").symlink_to("../run/study.db")
    (ws / "slurm_link_run").mkdir()
    (ws / "slurm_link_run" / "slurm").symlink_to("../outside")
    shutil.copy(ws / "proxy.safetensors", ws / "linked.safetensors")
    (ws / "linked.safetensors.evals").symlink_to("outside")
    from tests.conftest import name_factory

    shutil.copytree(ws / "run", ws / "factory_run")
    name_factory(ws / "factory_run", "evil_factory:build")
    (ws / "evil_factory.py").write_text("open('PWNED', 'w').close()  # run from the working directory: a case's copy\n"
                                        "def build(*args):\n    raise SystemExit('imported')\n")
    data = (ws / "run" / "study.db").read_bytes()
    shutil.copytree(ws / "run", ws / "torn_db_run")  # a study.db cut short (a copy interrupted, a full disk)
    (ws / "torn_db_run" / "study.db").write_bytes(data[: len(data) // 2])
    # a run on a journal; copies with a line optuna cannot replay, and with a damaged line
    run_search(search_config(ws / "space.yaml", ws / "jrun", proxy="random:2", epochs=1,
                             storage=f"journal:{ws / 'jrun' / 'study.journal'}"), dataset=digits)
    lines = (ws / "jrun" / "study.journal").read_bytes().splitlines(keepends=True)
    for name, text in (("junknown_run", b"".join(lines) + b'{"op_code":99,"worker_id":"newer-optuna"}\n'),
                       ("jdamaged_run", b"".join(lines[:2]) + b'{"op_code":4,"trial\n' + b"".join(lines[2:]))):
        shutil.copytree(ws / "jrun", ws / name)
        (ws / name / "study.journal").write_bytes(text)
    for name, limit in (("inf", ".inf"), ("nan", ".nan"), ("tight", "10")):
        (ws / f"{name}.yaml").write_text(SPACE + f"constraints:\n  max_params: {limit}\n")
    # a verification of `run`, and one damaged
    from ftd_nas.search.verify import VerifyConfig, run_verify

    run_verify(str(ws / "run"), VerifyConfig(top=1, sample=0),
               search_config(ws / "space.yaml", ws / "verified" / "real", proxy="real", epochs=1), ws / "verified",
               digits)
    (ws / "corrupt_verify").mkdir()
    (ws / "corrupt_verify" / "verify.json").write_text('{"format": "ftd-nas-verify", "pick": ')
    pick = json.loads((ws / "verified" / "pick.json").read_text())
    (ws / "pick_extra.json").write_text(json.dumps({**pick, "params": {**pick["params"], "extra": 1}}))
    import pickle

    # relative: a case runs in its own copy of the workspace, where it must not appear
    (ws / "evil.pt").write_bytes(pickle.dumps({"x": _MakesMarker("PWNED")}))
    # published tables of the space's four candidates, good and bad, and archives holding what is not plain data
    ids = [f"d1-w{w}-relu-{n}-avgpool" for w in (4, 8) for n in ("instancenorm", "none")]
    header = "CIFAR10TestAccuracy200Epochs,ArchitectureString\n"
    (ws / "table.csv").write_text(header + "".join(f"{50 + i},{c}\n" for i, c in enumerate(ids)))
    (ws / "unknown.csv").write_text(header + "".join(f"{50 + i},{c}\n" for i, c in enumerate(ids[:2]))
                                    + "60,d3-w4-relu-none-avgpool\n")
    (ws / "foreign.csv").write_text(header + "93.1,|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|\n")
    (ws / "text.csv").write_text(header + f"50,{ids[0]}\nhigh,{ids[1]}\n")
    import bz2

    for name, data in (("evil_archive", bz2.compress(pickle.dumps({"200": _MakesMarker("PWNED")}))),
                       ("garbage_archive", b"BZh9 not bz2")):
        (ws / name).mkdir()
        (ws / name / "000000.pickle.pbz2").write_bytes(data)
    from ftd_nas.search.table_truth import TableTruthConfig, make_table_truth

    make_table_truth(TableTruthConfig(space=str(ws / "space.yaml"), out=str(ws / "cifar_truth"),
                                      table=str(ws / "table.csv")))
    torch.save(torch.zeros(4, 1, 8, 8), ws / "small.pt")
    torch.save(torch.zeros(4, dtype=torch.long), ws / "labels.pt")
    torch.save(torch.zeros(4, 1, 16, 16), ws / "images.pt")
    torch.save(torch.tensor([0, 1, 2, 12]), ws / "labels_12.pt")
    torch.save(torch.tensor([-1, 0, 1, 2]), ws / "labels_negative.pt")
    torch.save(torch.eye(10)[:4].index_fill(0, torch.tensor([2]), float("nan")), ws / "soft_nan.pt")
    objects = np.empty(4, dtype=object)
    objects[:] = list(np.zeros((4, 1, 16, 16), dtype=np.float32))
    np.savez(ws / "objects.npz", images=objects, labels=np.arange(4))
    torch.save(torch.zeros(0, 1, 16, 16), ws / "no_images.pt")
    torch.save(torch.zeros(0, dtype=torch.long), ws / "no_labels.pt")
    (ws / "broken_log").mkdir()
    (ws / "broken_log" / "log.jsonl").write_text('{"it": 1, "loss": 0.5, "syn_lr": 0.01}\n{"it": 2, "lo')
    return ws


def _hashes(root: Path) -> dict[str, str]:
    """Every file's hash, but for lock files and SQLite's WAL index (study.db-shm): the index is shared memory in
    which every reader, read-only ones too, marks what it reads; it holds no data (study.db and -wal do)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith((".lock", "-shm"))}


def _run_case(workspace: Path, root: Path, name: str) -> dict:
    args, _, _ = CASES[name]
    ws = root / name
    shutil.copytree(workspace, ws, symlinks=True)  # links stay links (relative ones point inside the copy)
    before = _hashes(ws)
    argv = [a.replace("{ws}", str(ws)) for a in args]
    env = {**os.environ, "FTD_NAS_DEBUG": "", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-m", "ftd_nas", *argv], capture_output=True, text=True, timeout=600,
                         env=env, cwd=ws)
    after = _hashes(ws)
    changed = sorted(k for k in before if after.get(k) != before[k])
    return {"code": out.returncode, "stderr": out.stderr, "stdout": out.stdout, "changed": changed,
            "pwned": (ws / "PWNED").exists()}


@pytest.fixture(scope="module")
def outcomes(workspace, tmp_path_factory, request):
    """The outcome of every case this session runs (`-k truth` runs the truth cases alone)."""
    selected = {item.callspec.params["name"] for item in request.session.items
                if item.module is request.module and "name" in getattr(getattr(item, "callspec", None), "params", {})}
    root = tmp_path_factory.mktemp("cases")
    jobs = int(os.environ.get("FTD_NAS_TEST_JOBS", "3"))  # 1 on a machine shared with other work
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each case is its own process on its own copy
        futures = {name: pool.submit(_run_case, workspace, root, name) for name in CASES if name in selected}
    return {name: f.result() for name, f in futures.items()}


def test_the_table_covers_every_subcommand_with_sixty_cases():
    import argparse

    from ftd_nas.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = {args[0] for args, _, _ in CASES.values() if args}
    assert commands >= set(sub.choices) and len(CASES) >= 60


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_a_clear_error_of_its_class(outcomes, name):
    _, code, text = CASES[name]
    out = outcomes[name]
    assert out["code"] == code, (out["code"], out["stderr"][-1500:])
    assert "Traceback" not in out["stderr"] and "Traceback" not in out["stdout"]
    assert text in out["stderr"], out["stderr"][-1500:]
    assert out["changed"] == [], out["changed"]
    assert not out["pwned"]  # no code from a file ran
    assert "hunter2" not in out["stderr"] + out["stdout"]
