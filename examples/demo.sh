#!/usr/bin/env bash
# `make demo`: the whole story in one command, in a fresh home, one line per step:
#   synthetic patients → de-identifying ingest → DP-SGD training → 3-site federated training
#   with HE aggregation → empirical privacy audit → publish → budget report → gated retrieval
#   (allowed and denied) → audit-log verification.
# Steps 2-6 are one declarative pipeline (examples/pipeline/pipeline.yaml, `privtrain run`).
# Every step is real (real de-identification, Opacus, TenSEAL, Flower processes and an HTTP
# service on 127.0.0.1); only the sizes are small. Each step's full output is in
# $DEMO_OUT/logs/. Knobs: DEMO_ROWS (default 1000), DEMO_OUT (default demo-out/), DEMO_HOME
# (default demo-home/, wiped first: never point it at a real home).
# DEMO_FULL=1 runs the longer tour instead (examples/demo-full.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DEMO_FULL:-0}" = 1 ]; then
  exec bash examples/demo-full.sh
fi

export PRIVTRAIN_HOME="${DEMO_HOME:-$PWD/demo-home}"
export PRIVTRAIN_PASSPHRASE="${PRIVTRAIN_PASSPHRASE:-demo passphrase - change me}"
export PRIVTRAIN_IDENTITY="${PRIVTRAIN_IDENTITY:-demo-officer}"
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""
export COLUMNS="${COLUMNS:-200}"
OUT="${DEMO_OUT:-$PWD/demo-out}"
ROWS="${DEMO_ROWS:-1000}"
LOGS="$OUT/logs"
STEPS=10
N=0
T0=$EPOCHREALTIME
T=$T0
SERVER_PID=""
WORK="$(mktemp -d)"  # the synthetic patients file (fake PII in clear) lives only here

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$1" "$2"; }
# say TEXT: the step's one line, numbered, with its wall time
say() {
  N=$((N + 1))
  local now=$EPOCHREALTIME
  printf '[%2d/%d] %s  (%s s)\n' "$N" "$STEPS" "$*" "$(secs "$T" "$now")"
  T=$now
}
# quiet LOG CMD...: run CMD, stdout in $LOGS/LOG and stderr in $LOGS/LOG.err; on failure show
# the tail of both and stop
quiet() {
  local log="$LOGS/$1"
  shift
  if ! "$@" >"$log" 2>"$log.err"; then
    echo "FAILED: $* (full output: $log, $log.err)" >&2
    tail -n 15 "$log" "$log.err" >&2
    exit 1
  fi
}
# field FILE FORMAT: FORMAT (str.format) over the JSON object in FILE
field() { python3 -c 'import json, sys; print(sys.argv[2].format(**json.load(open(sys.argv[1]))))' "$@"; }

rm -rf "$PRIVTRAIN_HOME" "$LOGS" "$OUT/ana" "$OUT"/patients-class.pt* "$OUT/patients.csv"
mkdir -p "$LOGS"
echo "privtrain demo: home $PRIVTRAIN_HOME, reports in $OUT"

# 1. synthetic patients, and a fresh home -------------------------------------------------------
quiet 01-patients.log python examples/data/make_patients.py --rows "$ROWS" --out "$WORK/patients.csv"
quiet 01-init.log privtrain init
say "synthetic patients: $ROWS Adult rows with fake names, SSNs, phones and clinical notes (a temporary file, removed at the end); fresh encrypted home $PRIVTRAIN_HOME"

# 2-6. the pipeline: ingest → train → federated → audit → publish, one line per stage -----------
export PIPELINE_PATIENTS_CSV="$WORK/patients.csv" PIPELINE_OUT="$OUT"
pipe_ok=1
PIPELINE_LINE=""
while IFS= read -r line; do
  case "$line" in
    "pipeline failed") pipe_ok=0 ;;
    pipeline\ *) PIPELINE_LINE="$line" ;;
    *) say "${line% \[* s\]}" ;;  # the demo shows its own step time
  esac
done < <(privtrain run examples/pipeline/pipeline.yaml 2>"$LOGS/02-pipeline.log" || echo "pipeline failed")
[ "$N" -eq 6 ] || pipe_ok=0
if [ "$pipe_ok" -ne 1 ]; then
  echo "FAILED: privtrain run examples/pipeline/pipeline.yaml (full output: $LOGS/02-pipeline.log)" >&2
  tail -n 15 "$LOGS/02-pipeline.log" >&2
  exit 1
fi

# the registry service for steps 8-9 starts now: its start-up overlaps the budget report
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
privtrain serve --port "$PORT" >"$LOGS/08-serve.log" 2>&1 &
SERVER_PID=$!

# 7. budget report ------------------------------------------------------------------------------
quiet 07-budget-report.log privtrain budget report --html "$OUT/budget-report.html"
quiet 07-history.json privtrain budget history patients --json
RUNS="$(python3 - "$LOGS/07-history.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
print(", ".join(f"{r['kind']} ε={float(r['epsilon_actual']):.3f}" for r in runs))
PY
)"
SPENT="${PIPELINE_LINE#*ε spent: }"
say "budget: runs charged to patients: $RUNS; composed ε spent: ${SPENT%%; *}; report $OUT/budget-report.html"

# 8-9. gated retrieval: a data scientist with a token only, through the registry service ---------
quiet 08-users.log privtrain users add ana --role data-scientist --site local
quiet 08-model-key.json privtrain access model-key --json
MODEL_KEY="$(field "$LOGS/08-model-key.json" '{public_key_hex}')"
# the token is shown once: it stays in this shell's memory, never in a file or on the screen
ANA_TOKEN="$(privtrain tokens issue ana --ttl 1h --json 2>"$LOGS/08-token.err" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')" || {
  echo "FAILED: privtrain tokens issue ana (see $LOGS/08-token.err)" >&2
  exit 1
}
as_ana() { env -u PRIVTRAIN_PASSPHRASE PRIVTRAIN_TOKEN="$ANA_TOKEN" "$@"; }
mkdir -p "$OUT/ana"
quiet 08-wait.log python - "$URL" <<'PY'
import sys, time, httpx
for _ in range(600):
    try:
        if httpx.get(sys.argv[1] + "/v1/health", timeout=1).status_code == 200:
            sys.exit(0)
    except httpx.TransportError:
        time.sleep(0.2)
sys.exit("service did not start")
PY
quiet 08-get-model.log as_ana privtrain get model patients-class@v1 --server "$URL" --model-key "$MODEL_KEY" \
  --out "$OUT/ana/patients-class.pt"
say "allowed: ana (data scientist, token only) fetched the DP model over $URL, signed card checked client-side → $OUT/ana/patients-class.pt"

set +e
as_ana privtrain get dataset patients-raw --server "$URL" --out "$OUT/ana/patients-raw.csv" >"$LOGS/09-get-dataset.log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 7 ] || [ -e "$OUT/ana/patients-raw.csv" ]; then
  echo "FAILED: expected ana's download of the raw file to be denied with exit 7, got $rc (see $LOGS/09-get-dataset.log)" >&2
  exit 1
fi
say "denied: ana asked for the raw patients file (names, SSNs, notes): exit $rc, nothing written ($(head -n 1 "$LOGS/09-get-dataset.log" | cut -c1-160))"
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# 10. the audit log -----------------------------------------------------------------------------
quiet 10-checkpoint.log privtrain audit export-checkpoint --out "$OUT/audit-checkpoint.json"
quiet 10-verify.json privtrain audit verify --witness "$OUT/audit-checkpoint.json" --json
say "audit log: $(field "$LOGS/10-verify.json" '{events} events, hash chain and {checkpoints} signed checkpoint(s) verified') (the allow and deny decisions included); witness $OUT/audit-checkpoint.json"

echo "done in $(secs "$T0" "$EPOCHREALTIME") s: reports $OUT/deid-report.html $OUT/empirical-audit.html $OUT/budget-report.html; logs $LOGS"
