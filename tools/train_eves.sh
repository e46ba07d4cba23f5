#!/usr/bin/env bash
# Train the shipped eavesdroppers' models on the public training images (CPU; each run has a
# wall-clock budget and resumes from its OUT.state.pt if interrupted). The recipe of the model card.
#   bash tools/train_eves.sh STREAM [MODELS_DIR]
# STREAM: inversion | surrogate | detect | chosen | all. Budgets in minutes below;
# SCHEMES / CHOSEN pick the schemes (e.g. two streams side by side, one CPU thread each).
set -euo pipefail
cd "$(dirname "$0")/.."
stream=${1:?usage: train_eves.sh inversion|surrogate|detect|chosen|all [MODELS_DIR]}
M=${2:-models}
D=${STEGSEM_DATA:-../shared/data}
T=${THREADS:-1}
F="--private $D/faces/train --hosts $D/scenes/train --models $M --steps 1000000 --save-every 200"
S=.venv/bin/stegsem
schemes=${SCHEMES:-$(ls $M/stego-*.safetensors | xargs -n1 basename | sed 's/.safetensors//')}

if [[ $stream == inversion || $stream == all ]]; then  # closed box: public encoder only, one model
  $S --threads $T train eve inversion --scheme deepjscc $F --out $M/eve-inversion --minutes ${INV_MIN:-12}
fi
if [[ $stream == surrogate || $stream == all ]]; then
  # her own INN, the paper's recipe (loss 13-16, lr 3e-4, batch 16), her own seed
  # (64 px crops: 4x the steps of 128 px in her CPU budget; the INN is fully convolutional)
  $S --threads $T train eve surrogate --scheme stego-l3_2 $F --out $M/eve-surrogate --seed 1 --lr 3e-4 --crop 64 \
     --minutes ${SUR_MIN:-15}
  # then resumed at 128 px (the paper's crop here), a fresh cosine schedule fitted to the budget
  $S --threads $T train eve surrogate --scheme stego-l3_2 $F --out $M/eve-surrogate --seed 1 --lr 3e-4 --crop 128 \
     --minutes ${SUR2_MIN:-20}
fi
if [[ $stream == detect || $stream == all ]]; then
  for s in $schemes; do  # a steganalyser per scheme, containers vs the same hosts' plain symbols
    $S --threads $T train eve detect --scheme $s $F --out $M/eve-detect-$s --minutes ${DET_MIN:-3}
  done
fi
if [[ $stream == chosen || $stream == all ]]; then  # per scheme, from the closed-box inverter (shipped: 6 min
  # for deepjscc, 10 min for each stego-* model, two streams side by side)
  for s in ${CHOSEN:-deepjscc $schemes}; do
    $S --threads $T train eve chosen --scheme $s $F --out $M/eve-chosen-$s --init $M/eve-inversion \
       --lr 5e-4 --minutes ${CHO_MIN:-10}
  done
fi
