#!/usr/bin/env bash
# Measure the numbers quoted in README.md and models/README.md with the shipped models.
#   bash tools/reproduce_paper.sh [LIMIT] [MIA_LIMIT] [MIA_STEPS]
# Writes out/paper (faces/test as private, scenes/test as hosts) and out/kodak (DeepJSCC on Kodak).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${STEGSEM_DATA:-../shared/data}
LIMIT=${1:-100}
MIA_LIMIT=${2:-8}
MIA_STEPS=${3:-200}
.venv/bin/stegsem eval --data "$DATA/faces/test" --hosts "$DATA/scenes/test" --out out/paper \
  --snrs 0,5,10,15,20 --eve-snr 5 --limit "$LIMIT" --mia-limit "$MIA_LIMIT" --mia-steps "$MIA_STEPS"
.venv/bin/stegsem eval --data "$DATA/kodak" --out out/kodak --snrs 1,4,7,10,13,19 --eve-snr 10 \
  --systems deepjscc --mia-steps 0 --batch 4
.venv/bin/python tools/check_targets.py out/paper/results.json out/kodak/results.json
