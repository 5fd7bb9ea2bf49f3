#!/usr/bin/env bash
# The longer tour, in a fresh home: `DEMO_FULL=1 make demo` runs this (plain `make demo` runs the
# short story, examples/demo.sh). Import/export and key rotation, a reviewable de-identification
# plan, two DP-SGD runs and a refused overspend, signed cards, access control with a non-DP
# baseline whose download is denied, and federated training with each site's ledger shown.
# Several minutes on 2 cores with DEMO_ROWS=10000.
set -euo pipefail
cd "$(dirname "$0")/.."

export PRIVTRAIN_HOME="${DEMO_HOME:-$PWD/demo-home/full}"  # wiped first
export PRIVTRAIN_PASSPHRASE="${PRIVTRAIN_PASSPHRASE:-demo passphrase - change me}"
export PRIVTRAIN_IDENTITY="${PRIVTRAIN_IDENTITY:-demo-officer}"
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""
export COLUMNS="${COLUMNS:-150}"
ADULT="${ADULT_DIR:-$PWD/../shared/data/adult}"
OUT="${DEMO_OUT:-$PWD/demo-out/full}"
ROWS="${DEMO_ROWS:-10000}"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "fresh home at $PRIVTRAIN_HOME"
rm -rf "$PRIVTRAIN_HOME"
privtrain init

step "import a file (stored encrypted, registered raw)"
privtrain datasets import "$ADULT/adult.data.csv" --name adult
privtrain datasets ls

step "export it back and compare"
privtrain datasets export adult --out "$WORK/adult.roundtrip.csv"
cmp "$ADULT/adult.data.csv" "$WORK/adult.roundtrip.csv" && echo "identical"

step "rotate the key-encryption key (data keys re-wrapped, no blob rewritten)"
privtrain keys rotate
privtrain datasets export adult --out "$WORK/adult.after-rotate.csv"
cmp "$ADULT/adult.data.csv" "$WORK/adult.after-rotate.csv" && echo "identical after rotation"

step "synthetic patients: Adult rows joined with fake identities and clinical notes"
python examples/data/make_patients.py --rows "$ROWS" --out "$WORK/patients.csv"
head -c 400 "$WORK/patients.csv"; echo " ..."

step "de-identification plan (reviewable, editable, pinnable)"
privtrain deid plan "$WORK/patients.csv" --out "$WORK/plan.yaml"
grep -E "^- name:|action:" "$WORK/plan.yaml" | paste - - | head -8

step "de-identifying ingest: PII out, encrypted de-identified Parquet in"
privtrain ingest "$WORK/patients.csv" --name patients --plan "$WORK/plan.yaml"
privtrain deid report patients --html "$OUT/deid-report.html"
privtrain datasets ls

step "privacy budget for the patients dataset, then two DP-SGD runs (ε=1, ε=3)"
privtrain budget set patients --epsilon 4.5 --delta 1e-5
privtrain train --dataset patients --target class --epsilon 1 --features examples/patients_features.yaml --config examples/train.yaml
privtrain train --dataset patients --target class --epsilon 3 --features examples/patients_features.yaml --config examples/train.yaml
privtrain budget show

step "a run that would overspend the budget is refused before it trains"
set +e
privtrain train --dataset patients --target class --epsilon 4 --features examples/patients_features.yaml --config examples/train.yaml
rc=$?
set -e
[ "$rc" -eq 8 ] && echo "refused as expected (exit $rc)" || { echo "expected exit 8, got $rc"; exit 1; }
privtrain budget history patients

step "signed model cards"
privtrain models ls
privtrain models verify patients-class@v1
privtrain models verify patients-class@v2

step "budget report"
privtrain budget report --html "$OUT/budget-report.html"

step "verify the audit log"
privtrain audit export-checkpoint --out "$OUT/audit-checkpoint.json"
privtrain audit verify --witness "$OUT/audit-checkpoint.json"
privtrain audit show -n 10

echo
echo "reports: $OUT/deid-report.html  $OUT/budget-report.html"

# ==== access control: registry service, tokens, decisions (privtrain/access) ==================
step "access control: principals (custodian registers them) and the policies in force"
privtrain access policies
privtrain users add ana --role data-scientist --site local
privtrain users add ingest-svc --role ingestion --site local --service
privtrain users ls
ANA_TOKEN="$(privtrain tokens issue ana --ttl 1h --json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
MODEL_KEY="$(privtrain access model-key --json | python -c 'import json,sys; print(json.load(sys.stdin)["public_key_hex"])')"
echo "token issued to ana (shown once; stored only as a hash); model key pinned: ${MODEL_KEY:0:16}…"

step "a non-DP baseline model (recorded as such; its download must be denied)"
privtrain train --dataset patients --target class --no-dp --allow-non-private --epochs 1 \
  --features examples/patients_features.yaml --config examples/train.yaml --name patients-nodp

step "start the registry service on 127.0.0.1 (it holds the home; ana only has a token)"
PORT="$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
privtrain serve --port "$PORT" > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
python - "$URL" <<'PY'
import sys, time, httpx
for _ in range(300):
    try:
        if httpx.get(sys.argv[1] + "/v1/health", timeout=1).status_code == 200:
            print("service up at", sys.argv[1]); break
    except httpx.TransportError:
        time.sleep(0.2)
else:
    sys.exit("service did not start")
PY

step "ana fetches an allowed model: DP-trained, verified ε ≤ 10 (card checked client-side)"
env -u PRIVTRAIN_PASSPHRASE PRIVTRAIN_TOKEN="$ANA_TOKEN" \
  privtrain get model patients-class@v1 --server "$URL" --model-key "$MODEL_KEY" --out "$OUT/patients-class.pt"

expect_denied() {
  set +e; env -u PRIVTRAIN_PASSPHRASE PRIVTRAIN_TOKEN="$ANA_TOKEN" privtrain get "$@" --server "$URL"; rc=$?; set -e
  [ "$rc" -eq 7 ] && echo "denied as expected (exit $rc)" || { echo "expected exit 7, got $rc"; exit 1; }
}
step "ana is denied the raw dataset and the non-DP model (nothing written)"
expect_denied dataset adult --out "$WORK/adult.csv"
expect_denied model patients-nodp --out "$WORK/nodp.pt"
[ ! -e "$WORK/adult.csv" ] && [ ! -e "$WORK/nodp.pt" ] && echo "no file at --out"
privtrain access check ana dataset.export dataset:adult || true
privtrain access check ingest-svc dataset.export dataset:adult

step "the decisions are in the audit log; the chain verifies"
privtrain audit show -n 12
privtrain audit verify
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
# ==== end of access control ===================================================================

# ---- federated training (issue: federated) ------------------------------------------------
step "federated: patients split across 3 site homes; 3 rounds of DP-SGD with HE aggregation on Flower's Deployment Engine"
FED="$WORK/fed"
privtrain fed local --dataset patients --target class --features examples/patients_features.yaml \
  --sites 3 --aggregation he --rounds 3 --local-steps 5 --epsilon 1 --site-budget 4 --workdir "$FED"

step "each site's own ledger holds the federated run"
for i in 1 2 3; do
  echo "site-$i:"
  privtrain --home "$FED/site-$i/home" budget show patients
done

step "the federated model's signed card names every site's ε and the rounds"
privtrain models verify federated@v1
privtrain models show federated@v1 --json | python -c '
import json, sys
pred = json.load(sys.stdin)["card"]["predicate"]
fed = pred["federated"]
print("aggregation:", fed["aggregation"], "rounds:", fed["rounds_completed"])
for s in pred["privacy"]["sites"]:
    site, status, eps = s["site"], s["status"], s["epsilon"]
    print(f"  {site}: {status}, ε={eps}")
'
# ---- end federated --------------------------------------------------------------------------

echo
echo "the pipeline (ingest → train → federated → audit → publish) and the empirical audit: make demo"
