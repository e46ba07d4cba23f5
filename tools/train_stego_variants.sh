#!/usr/bin/env bash
# The recipe of the shipped keyed, covert and CNN steganography models and of the Eves retrained
# against them and against seed 004's shuffling and DP schemes (CPU, one thread per stream; every
# run has a wall-clock budget and resumes from its OUT.state.pt).
#   bash tools/train_stego_variants.sh STREAM [MODELS_DIR]
# STREAM: keyed | keyed-bob | keyed-joint | covert | covert-sweep | covert-pool | cnn | ibal | eves-a | eves-b | eves-c (two streams side by side on two cores).
# KEY: the key file of the captured transmitter for the keyed schemes' chosen-plaintext Eves
# (made if absent; the measurement uses the same file: 'stegsem eval --key KEY').
set -euo pipefail
cd "$(dirname "$0")/.."
stream=${1:?usage: train_stego_variants.sh keyed|keyed-bob|keyed-joint|covert|covert-sweep|covert-pool|cnn|ibal|eves-a|eves-b|eves-c [MODELS_DIR]}
M=${2:-models}
D=${STEGSEM_DATA:-../shared/data}
KEY=${KEY:-out/keys/measure.key}
S=.venv/bin/stegsem
I="--jscc $M/deepjscc-bcr12 --private $D/faces/train --hosts $D/scenes/train --lambda3 2 --batch 16 --workers 0 --steps 1000000"
E="--private $D/faces/train --hosts $D/scenes/train --models $M --steps 1000000 --save-every 200"
mkdir -p out/train "$(dirname "$KEY")"
[[ -f $KEY ]] || $S keygen "$KEY"

ship() {  # the trained model (weights, JSON, CSV log) into the models folder
  cp "out/train/$1.safetensors" "out/train/$1.json" "out/train/$1.csv" "$M/"
}
unshipped_models() {  # the experiments' models folder: a copy of the models folder, measured with 'stegsem eval --models out/train/models'
  mkdir -p out/train/models && cp -n $M/*.safetensors $M/*.json out/train/models/
}
detect_unshipped() {  # a steganalyser from scratch against the unshipped scheme $1, beside it
  $S --threads 1 train eve detect --scheme "$1" --private $D/faces/train --hosts $D/scenes/train \
     --models out/train/models --steps 1000000 --save-every 200 --out "out/train/models/eve-detect-$1" \
     --minutes ${DET_MIN:-4}
}
case $stream in
keyed)  # fine-tune the shipped λ3 = 2 INN with a uniformly random keyed transform per frame
  $S --threads 1 train inn $I --init $M/stego-l3_2 --keyed --crop 128 --lr 2e-4 --out out/train/stego-keyed-l3_2 \
     --minutes ${KEYED_MIN:-45}
  ship stego-keyed-l3_2 ;;
keyed-bob)  # the keyed model's companion: Bob's private-image decoder fine-tuned on his un-scrambled latents
  .venv/bin/python tools/try_bob_decoder.py --inn $M/stego-keyed-l3_2 --jscc $M/deepjscc-bcr12 --keyed --private-only \
     --private $D/faces/train --hosts $D/scenes/train --test-private $D/faces/test --test-hosts $D/scenes/test \
     --limit 20 --batch 16 --minutes ${BOB_MIN:-35} --device cpu --out out/train/bob-decoder-stego-keyed-l3_2
  cp out/train/bob-decoder-stego-keyed-l3_2.safetensors out/train/bob-decoder-stego-keyed-l3_2.json "$M/" ;;
keyed-joint)  # then the keyed INN and its Bob decoder together, mixed precision (bf16: AMX CPUs)
  $S --threads 1 train inn $I --init $M/stego-keyed-l3_2 --keyed --bob-decoder $M/bob-decoder-stego-keyed-l3_2 \
     --crop 128 --lr ${JOINT_LR:-1e-4} --precision ${JOINT_PRECISION:-bf16} --save-every 500 \
     --out out/train/stego-keyed-l3_2 --minutes ${JOINT_MIN:-70}
  ship stego-keyed-l3_2
  cp out/train/bob-decoder-stego-keyed-l3_2.safetensors out/train/bob-decoder-stego-keyed-l3_2.json "$M/" ;;
covert)  # fine-tune it against a steganalyser trained alongside (adversarial weight 0.1)
  $S --threads 1 train inn $I --init $M/stego-l3_2 --covert 0.1 --crop 128 --lr 2e-4 \
     --out out/train/stego-covert-l3_2 --minutes ${COVERT_MIN:-50}
  ship stego-covert-l3_2 ;;
covert-sweep)  # other adversarial weights (bf16 mixed precision), each with its own steganalyser from scratch;
  # not shipped: written to out/train/models (a copy of the models folder), measured with 'stegsem eval --models out/train/models'
  unshipped_models
  for w in ${COVERT_WEIGHTS:-0.02 1.0}; do
    $S --threads 1 train inn $I --init $M/stego-l3_2 --covert $w --crop 128 --lr 2e-4 --precision bf16 --save-every 500 \
       --out out/train/models/stego-covert-w$w --minutes ${SWEEP_MIN:-24}
    detect_unshipped stego-covert-w$w
  done ;;
covert-pool)  # against a pool of 3 steganalysers restarted from scratch in turn (gr_stegsem/train/covert.py);
  # not shipped, as covert-sweep (one weight per core: COVERT_WEIGHTS=0.03 ... & COVERT_WEIGHTS=0.3 ...)
  unshipped_models
  # OBJECTIVE=features: feature matching against the pool instead (models stego-covert-fm-w*)
  obj=${OBJECTIVE:-gan}; tag=$([[ $obj == features ]] && echo fm || echo pool)
  for w in ${COVERT_WEIGHTS:-0.03 0.3}; do
    $S --threads 1 train inn $I --init $M/stego-l3_2 --covert $w --discriminators 3 --disc-life 1500 --disc-warm 300 \
       --adv-objective $obj --crop 128 --lr 2e-4 --precision bf16 --save-every 500 \
       --out out/train/models/stego-covert-$tag-w$w --minutes ${POOL_MIN:-55}
    detect_unshipped stego-covert-$tag-w$w
  done ;;
cnn)  # seed 001's conv embedder + extractor from scratch: 64 px crops, then 128 px (as the INN)
  $S --threads 1 train inn $I --arch cnn --crop 64 --lr 3e-4 --out out/train/stego-cnn-l3_2 --minutes ${CNN_MIN:-18}
  $S --threads 1 train inn $I --arch cnn --crop 128 --lr 1e-4 --out out/train/stego-cnn-l3_2 --minutes ${CNN2_MIN:-12}
  ship stego-cnn-l3_2 ;;
ibal)  # seed 004's IBAL: the public DeepJSCC fine-tuned against an inverter that starts from the closed-box
  # Eve's, then its own adaptive Eves (a steganalyser from scratch, a fresh chosen-plaintext inverter).
  # beta 1 collapses Bob with Eve (both ~15 dB after 200 steps: they decode the same symbols), hence 0.3.
  b=${IBAL_BETA:-0.3}
  $S --threads 1 train ibal --init $M/deepjscc-bcr12 --data $D/faces/train --adversary-init $M/eve-inversion \
     --beta $b --crop 128 --workers 0 --steps 1000000 --out out/train/ibal-b$b --minutes ${IBAL_MIN:-30}
  ship ibal-b$b
  $S --threads 1 train eve detect --scheme ibal-b$b $E --out $M/eve-detect-ibal-b$b --minutes ${DET_MIN:-4}
  $S --threads 1 train eve chosen --scheme ibal-b$b $E --out $M/eve-chosen-ibal-b$b --init $M/eve-inversion \
     --lr 5e-4 --key "$KEY" --minutes ${CHO_MIN:-7} ;;
eves-c)  # the steganalysers and chosen-plaintext inverters of the two smaller DP budgets
  for s in ${DETECT_C:-dp-0.05 dp-0.1}; do
    $S --threads 1 train eve detect --scheme $s $E --out $M/eve-detect-$s --minutes ${DET_MIN:-4}
  done
  for s in ${CHOSEN_C:-dp-0.05 dp-0.1}; do
    $S --threads 1 train eve chosen --scheme $s $E --out $M/eve-chosen-$s --init $M/eve-inversion --lr 5e-4 \
       --key "$KEY" --minutes ${CHO_MIN:-7}
  done ;;
eves-a)  # steganalysers (from scratch) and chosen-plaintext inverters (from the closed-box one)
  for s in ${DETECT_A:-stego-covert-l3_2 stego-keyed-l3_2 shuffle-static shuffle dp-0.9}; do
    $S --threads 1 train eve detect --scheme $s $E --out $M/eve-detect-$s --minutes ${DET_MIN:-4}
  done
  for s in ${CHOSEN_A:-stego-keyed-l3_2 stego-covert-l3_2 dp-0.9}; do
    $S --threads 1 train eve chosen --scheme $s $E --out $M/eve-chosen-$s --init $M/eve-inversion --lr 5e-4 \
       --key "$KEY" --minutes ${CHO_MIN:-7}
  done ;;
eves-b)
  for s in ${DETECT_B:-stego-cnn-l3_2}; do
    $S --threads 1 train eve detect --scheme $s $E --out $M/eve-detect-$s --minutes ${DET_MIN:-4}
  done
  for s in ${CHOSEN_B:-stego-cnn-l3_2 shuffle-static shuffle}; do
    $S --threads 1 train eve chosen --scheme $s $E --out $M/eve-chosen-$s --init $M/eve-inversion --lr 5e-4 \
       --key "$KEY" --minutes ${CHO_MIN:-7}
  done ;;
*) echo "unknown stream $stream" >&2; exit 2 ;;
esac
