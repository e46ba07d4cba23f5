#!/usr/bin/env bash
# Seed 003/004's digital defences (DeepJSCC-LBVQ over 16-QAM, DeepJSCEC under LWE): the recipe of
# their shipped models and Eves, Bob's curves, the security report and the separate-coding baseline.
#   bash tools/security_digital.sh STAGE [OUT] [N]      (default out/security-digital, N = 100)
# STAGE: train (the two codecs, one CPU thread each, side by side) | eves (their chosen-plaintext
# inverters and steganalysers) | eval | detect | separate | merge | all (eval, detect, separate, merge).
# KEY: Bob's key for DeepJSCEC (and the captured transmitter's); made if absent.
# merge: the records join docs/results/security-variants.json's (same images and noise seeds), and
# `stegsem report` renders the merged table into OUT/merged.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=${1:?usage: security_digital.sh train|eves|eval|detect|separate|merge|all [OUT] [N]}
OUT=${2:-out/security-digital}
N=${3:-100}
M=${MODELS:-models}
D=${STEGSEM_DATA:-../shared/data}
KEY=${KEY:-out/keys/measure.key}
S=".venv/bin/stegsem --threads 1"
T="--data $D/faces/train --data $D/scenes/train --steps 1000000 --workers 0"
E="--private $D/faces/train --hosts $D/scenes/train --models $M --steps 1000000 --save-every 200"
C="--data $D/faces/test --hosts $D/scenes/test --limit $N --eve-snr 5 --mia-steps 200 --mia-limit 8 --key $KEY --models $M"
mkdir -p "$(dirname "$KEY")" "$OUT" out/train
[[ -f $KEY ]] || .venv/bin/stegsem keygen "$KEY"

train() {  # fine-tuned from the public DeepJSCC, 40-45 CPU minutes each (resumable)
  $S train lbvq $T --out out/train/lbvq-16 --minutes ${LBVQ_MIN:-45} > out/train/lbvq.log 2>&1 &
  $S train jscec $T --lwe-n 512 --out out/train/jscec-16 --minutes ${JSCEC_MIN:-40} > out/train/jscec.log 2>&1 &
  wait
  for n in lbvq-16:lbvq-16 jscec-16:jscec-n512; do
    src=${n%%:*} dst=${n##*:}
    cp out/train/$src.safetensors $M/$dst.safetensors; cp out/train/$src.json $M/$dst.json; cp out/train/$src.csv $M/$dst.csv
  done
}
eves() {  # two streams side by side: chosen-plaintext inverters from the closed-box one, steganalysers
  { for s in lbvq-16 jscec-n512; do
      $S train eve chosen --scheme $s $E --out $M/eve-chosen-$s --init $M/eve-inversion --lr 5e-4 \
         --key "$KEY" --minutes ${CHO_MIN:-7}
    done; } > "$OUT.eves-chosen.log" 2>&1 &
  { for s in lbvq-16 jscec-n512; do
      $S train eve detect --scheme $s $E --out $M/eve-detect-$s --key "$KEY" --minutes ${DET_MIN:-3}
    done; } > "$OUT.eves-detect.log" 2>&1 &
  wait
}
ev() {  # Bob 0-20 dB next to plain DeepJSCC and the INN; every Eve at 5 dB
  $S eval $C --out "$OUT/eval" --snrs 0,5,10,15,20 --eve-snrs 5 --attacks all --skip-missing \
    --systems deepjscc,stego-l3_2,lbvq-16,lbvq-16-hard,jscec-n512 > "$OUT.eval.log" 2>&1
}
detect() {  # detection vs Eve's SNR
  $S eval $C --out "$OUT/detect" --snrs 5 --eve-snrs 0,5,10,15,20 --attacks detect --mia-steps 0 \
    --systems lbvq-16,jscec-n512 > "$OUT.detect.log" 2>&1
}
separate() {
  .venv/bin/python tools/separate_coding.py --data $D/faces/test --limit $N --out "$OUT/separate.json" > "$OUT.separate.log" 2>&1
}
merge() {
  .venv/bin/python - "$OUT" <<'PY'
import json, shutil, sys
from pathlib import Path
out = Path(sys.argv[1])
merged = {}
for p in (out / "eval" / "results.json", out / "detect" / "results.json", Path("docs/results/security-variants.json")):
    for r in json.loads(p.read_text()):
        merged.setdefault((r["system"], r["receiver"], r["target"], r["snr_db"]), r)  # same seeds: same numbers
(out / "merged").mkdir(exist_ok=True)
(out / "merged" / "results.json").write_text(json.dumps(list(merged.values()), indent=1) + "\n")
shutil.copy("docs/results/chance.json", out / "merged" / "chance.json")
print(f"merged {len(merged)} records")
PY
  .venv/bin/stegsem report "$OUT/merged"
}
case $STAGE in
  train) train ;;
  eves) eves ;;
  eval) ev ;;
  detect) detect ;;
  separate) separate ;;
  merge) merge ;;
  all) { ev; } & { detect; separate; } & wait; merge ;;
  *) echo "unknown stage $STAGE" >&2; exit 2 ;;
esac
