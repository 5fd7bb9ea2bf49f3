#!/usr/bin/env bash
# The main job, end to end, in a fresh home: `make demo` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

export PRIVTRAIN_HOME="${PRIVTRAIN_HOME:-$PWD/demo-home}"
export PRIVTRAIN_PASSPHRASE="${PRIVTRAIN_PASSPHRASE:-demo passphrase - change me}"
export PRIVTRAIN_IDENTITY="${PRIVTRAIN_IDENTITY:-demo-officer}"
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""
export COLUMNS="${COLUMNS:-150}"
ADULT="${ADULT_DIR:-$PWD/../shared/data/adult}"
OUT="${DEMO_OUT:-$PWD/demo-out}"
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
