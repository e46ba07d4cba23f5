#!/usr/bin/env bash
# Same benchmark on an earlier revision and on the working tree, alternated in one run (a loaded
# machine drifts; alternating keeps the before/after ratio fair).
#
#   tools/compare_revisions.sh REV [ROUNDS] -- TOOL ARGS...
#   e.g. tools/compare_revisions.sh d43b3f7 3 -- tools/benchmark_chains.py --sizes 256 --threads 1 --frames 30
#
# REV's gr_stegsem/, tools/ and pyproject.toml are exported with git archive into a temporary folder that uses this
# checkout's models/ and .venv; each round runs TOOL there ("before") and here ("after") and prints both.
set -euo pipefail
rev=${1:?usage: compare_revisions.sh REV [ROUNDS] -- TOOL ARGS...}
shift
rounds=3
if [[ ${1:-} != "--" ]]; then rounds=$1; shift; fi
[[ ${1:-} == "--" ]] || { echo "compare_revisions.sh: '--' and the tool to run are missing" >&2; exit 2; }
shift
root=$(cd "$(dirname "$0")/.." && pwd)
old=$(mktemp -d /tmp/stegsem-rev.XXXXXX)
trap 'rm -rf "$old"' EXIT
git -C "$root" archive "$rev" gr_stegsem tools pyproject.toml | tar -x -C "$old"
ln -s "$root/models" "$old/models"
py="$root/.venv/bin/python"
for ((i = 1; i <= rounds; i++)); do
    echo "=== round $i: before ($rev)"
    (cd "$old" && OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" "$@")
    echo "=== round $i: after (working tree)"
    (cd "$root" && OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" "$@")
done
