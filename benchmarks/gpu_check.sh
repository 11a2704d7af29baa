#!/usr/bin/env bash
# The GPU check, for any machine with a CUDA device, as it is:
#   bash benchmarks/gpu_check.sh [RESULTS_FOLDER]
# runs the CUDA tests, the speed benchmark on CUDA, a default fit of a
# generated 100,000-row table timed against one HGB per task on the CPU and
# the packed search of penguins against GridSearchCV, within 8 minutes, and
# writes every output to RESULTS_FOLDER (default
# gpu_check_results/). Without a CUDA device it says so and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu_check_results}"
mkdir -p "$out"

if ! python -c "import skmtl, torch" 2> "$out/import.txt"; then
  echo "gpu_check: skmtl or torch does not import; install the project first: pip install -e .[dev]" \
    | tee "$out/summary.txt"
  exit 1
fi
if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing to check." \
    | tee "$out/summary.txt"
  exit 0
fi

status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep the output
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.txt" 2>&1
  local rc=$?
  echo "gpu_check: $name exited $rc after $(( SECONDS - start )) s" | tee -a "$out/summary.txt"
  [ "$rc" -eq 0 ] || status=1
}

nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
python -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())" \
  | tee -a "$out/summary.txt"
step test_cuda 150 python -m pytest -q -p no:cacheprovider tests/project/test_cuda.py
step speed 140 python benchmarks/speed.py --device cuda --contenders hand skorch skmtl \
  --repeat 3 --skip-memory --json "$out/speed.json"
step default_fit 100 python benchmarks/default_fit.py --device cuda --json "$out/default_fit.json"
step packed_search 90 python benchmarks/packed_search.py --device cuda --json "$out/packed_search.json"
tail -n 25 "$out/test_cuda.txt" "$out/speed.txt" "$out/default_fit.txt" "$out/packed_search.txt"
exit "$status"
