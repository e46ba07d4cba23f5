#!/usr/bin/env bash
# Train several INN steganography variants side by side on one GPU within a wall-clock budget.
#
#   tools/train_inn_gpu.sh OUT PRIVATE HOSTS MINUTES NAME:HIDDEN:LAMBDA3[:INIT] ...
#
# Every variant: DeepJSCC models/deepjscc-bcr12 frozen, the paper's loss (13)-(16) with
# lambda = (1, 2, LAMBDA3, 1, 1), Adam (LR, default 3e-4) on a cosine schedule fitted to MINUTES,
# SNR U[0, 20] dB, 128 px crops, batch 128 (the paper's batch), images decoded once into GPU
# memory (--preload). INIT (a model path) fine-tunes from that model's weights. A variant whose
# OUT/NAME.state.pt exists is resumed. Needs only torch, safetensors, click, tqdm and pillow.
set -euo pipefail
out=$1 private=$2 hosts=$3 minutes=$4
shift 4
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONPATH=$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}
for cfg in "$@"; do
  IFS=: read -r name hidden l3 init <<<"$cfg"
  $py -m gr_stegsem --threads "${THREADS:-2}" train inn --jscc models/deepjscc-bcr12 --private "$private" \
    --hosts "$hosts" --out "$out/$name" --hidden "$hidden" --lambda3 "$l3" --crop "${CROP:-128}" \
    --batch "${BATCH:-128}" --lr "${LR:-3e-4}" --steps 1000000 --minutes "$minutes" --preload \
    --save-every 1000 ${init:+--init "$init"} >"$out/$name.log" 2>&1 &
done
wait
grep -h "steps fit\|^wrote" "$out"/*.log
