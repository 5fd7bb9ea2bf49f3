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
WORK="$(mktemp -d)"
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

step "verify the audit log"
privtrain audit export-checkpoint --out "$WORK/checkpoint.json"
privtrain audit verify
privtrain audit show -n 10
