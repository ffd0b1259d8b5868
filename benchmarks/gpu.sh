#!/usr/bin/env bash
# The GPU path of the fused engine, one prepared run of at most 10 minutes (benchmarks/gpu.py says what it reports).
#   bash benchmarks/gpu.sh          # on the accelerator machine
#   bash benchmarks/gpu.sh --quick  # tiny sizes: tests this script on a CPU in well under a minute of work
# PYTHON picks the interpreter (default: python). Memory is allocated on demand, so the peak it reports is real use.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
timeout 590 "${PYTHON:-python}" benchmarks/gpu.py "$@"
echo "gpu.sh wall time: $(( $(date +%s) - start )) s"
