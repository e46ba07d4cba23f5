#!/usr/bin/env bash
# The security report of the keyed, covert and CNN steganography and of seed 004's DP and shuffling
# schemes (and IBAL): every Eve of gr_stegsem/eves/ at Eve's 5 dB, Bob at 0-20 dB, on faces/test x scenes/test,
# plus steganalysis vs Eve's SNR (0-20 dB); merged with the report of tools/security_report.sh (BASE,
# same images and noise seeds) into one table when that folder exists.
#   bash tools/security_variants.sh [OUT] [N] [STAGE]   (default out/security-variants, N = 100)
# STAGE: all (default: the two eval streams side by side, then the merge), or one of stego, seed004,
# detect, merge (to start each as soon as its Eves are trained).
# KEY: the keyed schemes' key, the one their chosen-plaintext Eves' transmitter used
# (tools/train_stego_variants.sh); made if absent (then those Eves attack frames under another key).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/security-variants}
N=${2:-100}
D=${STEGSEM_DATA:-../shared/data}
KEY=${KEY:-out/keys/measure.key}
BASE=${BASE:-out/security}
S=".venv/bin/stegsem --threads 1"
[[ -f $KEY ]] || .venv/bin/stegsem keygen "$KEY"
C="--data $D/faces/test --hosts $D/scenes/test --limit $N --eve-snr 5 --mia-steps 200 --mia-limit 8 --key $KEY"
STAGE=${3:-all}
stego() {
  $S eval $C --out "$OUT/stego" --snrs 0,5,10,15,20 --eve-snrs 5 --attacks all --skip-missing \
    --systems stego-keyed-l3_2,stego-covert-l3_2,stego-cnn-l3_2,dp-0.05 > "$OUT.stego.log" 2>&1
}
detect() {  # steganalysis vs Eve's SNR
  $S eval $C --out "$OUT/detect" --snrs 5 --eve-snrs 0,5,10,15,20 --attacks detect --mia-steps 0 \
    --systems stego-keyed-l3_2,stego-covert-l3_2,stego-cnn-l3_2,shuffle-static,shuffle,dp-0.05,dp-0.1,dp-0.9,ibal-b0.3 > "$OUT.detect.log" 2>&1
}
seed004() {
  $S eval $C --out "$OUT/seed004" --snrs 0,5,10,15,20 --eve-snrs 5 --attacks all --skip-missing \
    --systems dp-0.1,dp-0.9,shuffle,shuffle-static,ibal-b0.3 > "$OUT.seed004.log" 2>&1
}
mkdir -p "$(dirname "$OUT")"
case $STAGE in
  all) { stego; detect; } & seed004 & wait ;;  # two streams side by side, one thread each
  stego) stego ;;
  detect) detect ;;
  seed004) seed004 ;;
  merge) ;;
  *) echo "unknown stage $STAGE" >&2; exit 2 ;;
esac
[[ $STAGE == all || $STAGE == merge ]] || exit 0
.venv/bin/python - "$OUT" "$BASE" <<'PY'
import json, shutil, sys
from pathlib import Path
out, base = Path(sys.argv[1]), Path(sys.argv[2])
parts = [out / "stego", out / "seed004", out / "detect"] + ([base] if (base / "results.json").is_file() else [])
merged = {}
for p in parts:
    for r in json.loads((p / "results.json").read_text()):
        merged.setdefault((r["system"], r["receiver"], r["target"], r["snr_db"]), r)  # same seeds: same numbers
(out / "results.json").write_text(json.dumps(list(merged.values()), indent=1) + "\n")
shutil.copy(out / "stego" / "chance.json", out / "chance.json")
print(f"merged {len(merged)} records from {', '.join(str(p) for p in parts)}")
PY
.venv/bin/stegsem report "$OUT"
