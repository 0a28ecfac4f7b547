#!/usr/bin/env bash
# Every check that needs a GPU, in one run, writing one JSON. Sized for about 6 minutes on one H100/H200 (the
# fusion benchmark with all 5 candidates and R = 32 took over 7 minutes alone on an H200, so it runs 3 and R = 8):
#   1. pytest -m gpu                      the GPU-only tests (no host syncs in a candidate's training)
#   2. bench_fusion.py                    small candidates: the loop today vs functional, CUDA-graph and vmap-fused
#                                         steps (same results checked), kernels and syncs per step
#   3. bench_search_throughput.py         a sample of the 720 space, 200 epochs on 500 images, 1/2/4 workers:
#                                         the projected minutes for the whole space
#   4. bench_plan.py                      `search --plan`'s projection against the measured search (convnet-cpu)
#   5. bench_distill.py                   FTD and MTT (full and checkpoint unroll), DSA and DM at paper size
#                                         (width 128, ZCA, IPC 10; FTD also at IPC 50)
#   6. bench_precision.py                 bf16 autocast against fp32: the ranking of 16 sampled candidates
#                                         (against a new seed's) and the time
#   7. bench_zero_cost.py                 seconds per candidate of every training-free scorer (ConvNet-3, w128)
# Each step's JSON lands in OUT (default runs/gpu_check) and gpu_check.json gathers them with the device, the
# versions, each step's seconds and exit code. A failing step is recorded and the others still run; the script
# exits non-zero if any failed.
#
#   bash scripts/gpu_check.sh                          # on a GPU machine
#   bash scripts/gpu_check.sh --device cpu --quick     # dry run of the same steps at toy sizes (CI-sized, CPU)
# Options: --device D (default cuda), --quick, --out DIR, --dataset SPEC (default the shared CIFAR-10 subset;
# --quick uses digits), --python EXE (default .venv/bin/python if present, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."

device=cuda quick=0 out=runs/gpu_check dataset="" python=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --dataset) dataset="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
if [ -z "$dataset" ]; then
  if [ "$quick" = 1 ]; then dataset=digits; else dataset=npz:../shared/datasets/cifar10_subset.npz; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$out"
steps_file="$out/steps.jsonl"
: > "$steps_file"

step() {  # step NAME COMMAND...: run, time, record exit code
  local name="$1"; shift
  echo "== $name: $*" >&2
  local start end rc
  start=$(date +%s.%N)
  "$@"
  rc=$?
  end=$(date +%s.%N)
  "$python" -c 'import json,sys; print(json.dumps({"step": sys.argv[1], "rc": int(sys.argv[2]),
      "seconds": round(float(sys.argv[4]) - float(sys.argv[3]), 2), "command": sys.argv[5:]}))' \
      "$name" "$rc" "$start" "$end" "$@" >> "$steps_file"
  echo "== $name: exit $rc" >&2
}

if [ "$quick" = 1 ]; then
  step pytest_gpu "$python" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py
  step fusion "$python" scripts/bench_fusion.py --device "$device" --dataset "$dataset" --epochs 2 --runs 2 \
      --loop-runs 1 --candidates 1 --profile --out "$out/fusion.json"
  step search_throughput "$python" scripts/bench_search_throughput.py --device "$device" --dataset "$dataset" \
      --space convnet-tiny --sample 2 --epochs 2 --variants deferred --real-epochs 0 --workers 1 2 \
      --out "$out/search_throughput.json"
  step plan "$python" scripts/bench_plan.py --device "$device" --dataset "$dataset" --space convnet-tiny \
      --proxy random:2 --epochs 2 --sample 2 --plan-epochs 1 --out "$out/plan.json"
  step distill_ipc10 "$python" scripts/bench_distill.py --device "$device" --dataset "$dataset" --width 8 \
      --depth 1 --ipc 1 --steps 2 --iters 1 --methods ftd mtt dm --out "$out/distill_ipc10.json"
  step precision "$python" scripts/bench_precision.py --device "$device" --dataset "$dataset" --space convnet-tiny \
      --proxy random:2 --epochs 2 --out "$out/precision.json"
  step zero_cost "$python" scripts/bench_zero_cost.py --device "$device" --dataset "$dataset" --width 8 --depth 2 \
      --reps 1 --json "$out/zero_cost.json"
else
  step pytest_gpu "$python" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py
  step fusion "$python" scripts/bench_fusion.py --device "$device" --dataset "$dataset" --epochs 200 \
      --runs 8 --candidates 3 --profile --out "$out/fusion.json"
  step search_throughput "$python" scripts/bench_search_throughput.py --device "$device" --dataset "$dataset" \
      --sample 16 --epochs 200 --variants deferred --real-epochs 0 --workers 1 2 4 \
      --out "$out/search_throughput.json"
  step plan "$python" scripts/bench_plan.py --device "$device" --dataset "$dataset" --space convnet-cpu \
      --proxy random:50 --epochs 200 --sample 6 --plan-epochs 3 --out "$out/plan.json"
  step distill_ipc10 "$python" scripts/bench_distill.py --device "$device" --dataset "$dataset" --zca --width 128 \
      --ipc 10 --steps 30 --iters 3 --methods ftd mtt dsa dm --out "$out/distill_ipc10.json"
  step distill_ipc50 "$python" scripts/bench_distill.py --device "$device" --dataset "$dataset" --zca --width 128 \
      --ipc 50 --steps 30 --iters 3 --methods ftd --out "$out/distill_ipc50.json"
  step precision "$python" scripts/bench_precision.py --device "$device" --dataset "$dataset" --space convnet \
      --sampler random --n-trials 16 --proxy random:50 --epochs 200 --out "$out/precision.json"
  step zero_cost "$python" scripts/bench_zero_cost.py --device "$device" --dataset "$dataset" --width 128 \
      --depth 3 --reps 3 --json "$out/zero_cost.json"
fi

"$python" - "$out" "$device" "$quick" <<'EOF'
import json, sys
from pathlib import Path
out, device, quick = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines() if line.strip()]
results = {}
for s in steps:
    f = out / f"{s['step']}.json"
    if f.exists():
        results[s["step"]] = json.loads(f.read_text())
summary = {"format": "ftd-nas-gpu-check", "version": 1, "device": device, "quick": quick, "steps": steps,
           "results": results}
env = next((r["environment"] for r in results.values() if isinstance(r, dict) and "environment" in r), None)
summary["environment"] = env
tp = results.get("search_throughput")
if tp:
    summary["projected_minutes_for_space"] = {
        "space": tp["space"], "candidates": tp["space_size"], "epochs": tp["epochs"], "images": tp["images"],
        "one_worker_sequential": tp["variants"]["deferred"]["projected_minutes_for_space"],
        **{f"workers_{w['workers']}": w["projected_minutes_for_space"] for w in tp["workers"]}}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=2))
failed = [s["step"] for s in steps if s["rc"] != 0]
if failed:
    print("failed steps: " + ", ".join(failed), file=sys.stderr)
    sys.exit(1)
EOF
