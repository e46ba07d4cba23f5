#!/usr/bin/env bash
# The security report of the README and the model card: plain DeepJSCC and the four shipped INN
# schemes against every Eve of gr_stegsem/eves/, Bob and Eve at 0-20 dB, on faces/test x scenes/test.
#   bash tools/security_report.sh [OUT] [N]     (default out/security, N = 100 private test images)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/security}
N=${2:-100}
D=${STEGSEM_DATA:-../shared/data}
.venv/bin/stegsem --threads "${THREADS:-2}" eval --data "$D/faces/test" --hosts "$D/scenes/test" --out "$OUT" \
  --limit "$N" --snrs 0,5,10,15,20 --eve-snr 5 --mia-steps 200 --mia-limit 8 \
  --systems deepjscc,stego-l3_2,stego-l3_4,stego-l3_8,stego-l3_16 --attacks all
# the glass-box Eve with the other l_hat (gaussian; Bob's records of this run use it too)
.venv/bin/stegsem --threads "${THREADS:-2}" eval --data "$D/faces/test" --hosts "$D/scenes/test" \
  --out "$OUT/glassbox-gaussian" --limit "$N" --snrs 5 --eve-snr 5 --mia-steps 0 \
  --systems stego-l3_2,stego-l3_4,stego-l3_8,stego-l3_16 --attacks glassbox --lost gaussian
