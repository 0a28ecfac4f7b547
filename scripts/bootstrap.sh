#!/usr/bin/env bash
# Set up ftd-nas in a virtual environment (default ./.venv; override with FTD_NAS_VENV).
# Installs the CPU build of torch 2.13.0 first, unless the environment already has a torch
# (for example a CUDA build you installed yourself), so pip never pulls a CUDA build by accident.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${FTD_NAS_VENV:-.venv}"
python="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  "$venv/bin/pip" install -q torch==2.13.0
fi
"$venv/bin/pip" install -q -e ".[test]"
echo "ftd-nas installed in $venv: $("$venv/bin/ftd-nas" --version)"
