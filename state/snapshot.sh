#!/usr/bin/env bash
# Snapshot running experiments' work folders into state/experiments.tar.gz (state/README.md says why and how to
# resume). Each SQLite study is copied through SQLite's backup API (a consistent copy while workers write to it,
# its WAL folded in); logs, locks and claims are left out, and so is a finished proxy's work folder (PROXY.run:
# log, checkpoint and image grids, not results).
#   bash state/snapshot.sh runs/nas_table_cpu runs/nb201_cpu
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash state/snapshot.sh FOLDER..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for folder in "$@"; do
  name=$(basename "$folder")
  mkdir -p "$tmp/$name"
  tar -C "$folder" --exclude='*.log' --exclude='*.lock' --exclude='claim' --exclude='study.db' \
    --exclude='study.db-*' -cf - . | tar -C "$tmp/$name" -xf -
  # a finished proxy's work folder: the proxy file beside it is the result
  find "$tmp/$name" -name '*.safetensors.run' -type d | while read -r run; do
    if [ -f "${run%.run}" ]; then rm -rf "$run"; fi
  done
  find "$folder" -name study.db | while read -r db; do
    rel=${db#"$folder"/}
    mkdir -p "$(dirname "$tmp/$name/$rel")"
    python3 -c 'import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.execute("PRAGMA journal_mode=DELETE")
dst.close(); src.close()' "$db" "$tmp/$name/$rel"
  done
done
tar czf state/experiments.tar.gz -C "$tmp" .
ls -la state/experiments.tar.gz
