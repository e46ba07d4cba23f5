#!/usr/bin/env bash
# Train several INN steganography variants side by side on one GPU within a wall-clock budget.
#
#   tools/train_inn_gpu.sh OUT PRIVATE HOSTS SECONDS NAME:HIDDEN:LAMBDA3 [NAME:HIDDEN:LAMBDA3 ...]
#
# Every variant: DeepJSCC models/deepjscc-bcr12 frozen, the paper's loss (13)-(16) with
# lambda = (1, 2, LAMBDA3, 1, 1), Adam 3e-4 (cosine), SNR U[0, 20] dB, 128 px crops, batch 128
# (the paper's batch), images decoded once into GPU memory (--preload). A 40-step probe of all
# variants at once measures the step time; the step count is then chosen so the cosine schedule
# ends inside SECONDS. A variant whose OUT/NAME.state.pt exists is resumed instead (steps: +budget).
# Needs only torch, safetensors, click, tqdm and pillow (no GNU Radio, no LPIPS).
set -euo pipefail
out=$1 private=$2 hosts=$3 budget=$4
shift 4
mkdir -p "$out/probe"
py=${PYTHON:-python3}
export PYTHONPATH=$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}
threads=${THREADS:-2}
train() {  # name hidden lambda3 steps dir extra...
  local name=$1 hidden=$2 l3=$3 steps=$4 dir=$5
  shift 5
  $py -m gr_stegsem --threads "$threads" train inn --jscc models/deepjscc-bcr12 --private "$private" \
    --hosts "$hosts" --out "$dir/$name" --hidden "$hidden" --lambda3 "$l3" --crop "${CROP:-128}" --batch "${BATCH:-128}" \
    --steps "$steps" --preload --save-every 1000 "$@"
}
for cfg in "$@"; do
  IFS=: read -r name hidden l3 <<<"$cfg"
  train "$name" "$hidden" "$l3" 40 "$out/probe" --no-resume >"$out/probe/$name.log" 2>&1 &
done
wait
for cfg in "$@"; do
  IFS=: read -r name hidden l3 <<<"$cfg"
  per_step=$(tail -n 20 "$out/probe/$name.csv" | awk -F, 'NR==1{a=$NF} END{print ($NF-a)/19}')
  done_steps=0
  if [[ -f "$out/$name.state.pt" ]]; then done_steps=$(tail -n 1 "$out/$name.csv" | cut -d, -f1); fi
  steps=$(awk -v b="$budget" -v s="$per_step" -v d="$done_steps" 'BEGIN{print d + int(b / s / 1000) * 1000}')
  echo "$name: hidden $hidden, lambda3 $l3, ${per_step}s/step with all variants running -> $steps steps"
  train "$name" "$hidden" "$l3" "$steps" "$out" >"$out/$name.log" 2>&1 &
done
wait
echo "trained: $*"
