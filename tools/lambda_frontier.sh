#!/usr/bin/env bash
# The λ3 trade-off of the steganography at Bob (host vs private PSNR) and Eve (what leaks), beyond the
# paper's λ3 = 2 and 4: fine-tunes the shipped λ3 = 4 model to each further λ3 (all runs in parallel, one
# thread each, a cosine schedule fitted to MINUTES), then measures them with the shipped models:
#   OUT/gap.txt          tools/gap_check.py --equivalent (50 pairs, 5/10/15/20 dB)
#   OUT/eval/results.md  stegsem eval at 5 dB (50 pairs; MIA on 8)
#
#   bash tools/lambda_frontier.sh OUT [MINUTES] [LAMBDA3 ...]      (defaults: 35 minutes; 8 16)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${STEGSEM_DATA:-../shared/data}
[ $# -ge 1 ] || { echo "usage: $0 OUT [MINUTES] [LAMBDA3 ...]" >&2; exit 2; }
OUT=$1
MINUTES=${2:-35}
LAMBDAS=("${@:3}")
[ ${#LAMBDAS[@]} -gt 0 ] || LAMBDAS=(8 16)
mkdir -p "$OUT"
for f in models/deepjscc-bcr12.{safetensors,json} models/stego-l3_{2,4}.{safetensors,json}; do
  ln -sf "$PWD/$f" "$OUT/"
done
pids=()
for l3 in "${LAMBDAS[@]}"; do
  .venv/bin/stegsem --threads 1 train inn --jscc models/deepjscc-bcr12 --private "$DATA/faces/train" \
    --hosts "$DATA/scenes/train" --out "$OUT/stego-l3_$l3" --lambda3 "$l3" --init models/stego-l3_4.safetensors \
    --lr 2e-4 --crop 128 --batch 16 --steps 100000 --minutes "$MINUTES" --workers 0 > "$OUT/train-l3_$l3.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
inns=(--inn models/stego-l3_2 --inn models/stego-l3_4)
systems=deepjscc,stego-l3_2,stego-l3_4
for l3 in "${LAMBDAS[@]}"; do
  inns+=(--inn "$OUT/stego-l3_$l3")
  systems+=",stego-l3_$l3"
done
.venv/bin/python tools/gap_check.py "${inns[@]}" --data "$DATA/faces/test" --hosts "$DATA/scenes/test" \
  --limit 50 --equivalent | tee "$OUT/gap.txt"
.venv/bin/stegsem eval --data "$DATA/faces/test" --hosts "$DATA/scenes/test" --out "$OUT/eval" --snrs 5 \
  --limit 50 --mia-limit 8 --mia-steps 200 --models "$OUT" --systems "$systems"
