#!/usr/bin/env bash
# bench/lint.sh: wall time of `quantx-db migrate lint` against squawk on the same files,
# measured in the same run, and where the two disagree on the corpus in testdata/lint.
#
# squawk (squawk-cli on PyPI) is installed into a throwaway virtualenv under
# ~/.cache/quantx-db/bench, never into the project. Both tools run as fresh processes,
# alternately, ROUNDS times per input; the median is reported. Inputs:
#   1. the shipped migrations (migrations/sql/*.up.sql);
#   2. a generated file of 5,000 statements (ALTER/CREATE INDEX/UPDATE/... on 50 tables).
# Both tools write JSON to /dev/null (--reporter json / -o json); both exit non-zero on findings.
#
# Usage: bench/lint.sh [ROUNDS]    (no server needed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-15}
SQUAWK_VERSION=${SQUAWK_VERSION:-2.70.0}
venv=${QUANTX_CACHE:-$HOME/.cache/quantx-db}/bench/squawk-venv
if ! "$venv/bin/squawk" --version 2>/dev/null | grep -qx "squawk $SQUAWK_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "squawk-cli==$SQUAWK_VERSION"
fi
squawk=$venv/bin/squawk
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -o "$work/quantx-db" ./cmd/quantx-db
echo "squawk $("$squawk" --version | cut -d' ' -f2), quantx-db $(git rev-parse --short HEAD 2>/dev/null || echo dev), rounds=$ROUNDS"

# The generated file: 5,000 statements over 50 tables that an earlier migration created.
mkdir -p "$work/gen"
awk 'BEGIN {
  for (t = 0; t < 50; t++) printf "CREATE TABLE t%d (id bigint PRIMARY KEY, c text);\n", t
}' >"$work/gen/0001_tables.up.sql"
awk 'function tb(back) { return "t" ((i - back) % 50) }
BEGIN {
  for (i = 0; i < 5000; i++) {
    k = i % 10
    if (k == 0) printf "CREATE TABLE new_%d (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n", i
    else if (k == 1) printf "ALTER TABLE %s ADD COLUMN c%d text;\n", tb(0), i
    else if (k == 2) printf "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_%d ON %s (c%d);\n", i, tb(1), i - 1
    else if (k == 3) printf "ALTER TABLE %s ADD CONSTRAINT chk_%d CHECK (c%d IS NOT NULL) NOT VALID;\n", tb(2), i, i - 2
    else if (k == 4) printf "ALTER TABLE %s VALIDATE CONSTRAINT chk_%d;\n", tb(3), i - 1
    else if (k == 5) printf "UPDATE %s SET c%d = '\''x'\'' WHERE id BETWEEN %d AND %d;\n", tb(4), i - 4, i, i + 1000
    else if (k == 6) printf "ALTER TABLE %s ADD COLUMN n%d bigint DEFAULT 0;\n", tb(0), i
    else if (k == 7) printf "COMMENT ON COLUMN %s.n%d IS '\''counter %d'\'';\n", tb(1), i - 1, i
    else if (k == 8) printf "CREATE INDEX idx_new_%d ON new_%d (name);\n", i, i - 8
    else printf "INSERT INTO new_%d (name) VALUES ('\''a'\''), ('\''b'\'');\n", i - 9
  }
}' >"$work/gen/0002_generated.up.sql"
[ "$(grep -c ';$' "$work/gen/0002_generated.up.sql")" = 5000 ] || { echo "generator: not 5000 statements" >&2; exit 1; }

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bench() { # name, quantx-db command, squawk command
  local name=$1 q=$2 s=$3
  : >"$work/q"; : >"$work/s"
  for _ in $(seq "$ROUNDS"); do
    t0=$(now); eval "$q" >/dev/null 2>&1 || true; t1=$(now); echo $(((t1 - t0) / 1000)) >>"$work/q"
    t0=$(now); eval "$s" >/dev/null 2>&1 || true; t1=$(now); echo $(((t1 - t0) / 1000)) >>"$work/s"
  done
  local qm sm qn sn
  qm=$(median <"$work/q"); sm=$(median <"$work/s")
  qn=$(sort -n "$work/q" | head -1); sn=$(sort -n "$work/s" | head -1)
  printf '%-34s median: quantx-db %7.1f ms  squawk %7.1f ms  ratio %.2fx | fastest: %7.1f ms  %7.1f ms  ratio %.2fx\n' \
    "$name" "$(echo "$qm/1000" | bc -l)" "$(echo "$sm/1000" | bc -l)" "$(echo "$qm/$sm" | bc -l)" \
    "$(echo "$qn/1000" | bc -l)" "$(echo "$sn/1000" | bc -l)" "$(echo "$qn/$sn" | bc -l)"
}
echo "goal: quantx-db <= 1.00x squawk; load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench "process start-up (version)" "'$work/quantx-db' version" "'$squawk' --version"
bench "shipped migrations (9 files)" \
  "'$work/quantx-db' migrate lint --source migrations/sql -o json" \
  "'$squawk' --pg-version 15 --reporter json migrations/sql/*.up.sql"
bench "generated file (5,000 statements)" \
  "'$work/quantx-db' migrate lint --since 1 --source '$work/gen' -o json" \
  "'$squawk' --pg-version 15 --reporter json '$work/gen/0002_generated.up.sql'"

# Findings on the corpus: each case as quantx-db reads it (after setup.sql and its
# earlier files), squawk on the case file alone (--assume-in-transaction unless the file
# is a no-transaction one, as quantx-db runs it).
echo
echo "Findings on testdata/lint (rules each tool reports per file; squawk's ids mapped to ours):"
for f in testdata/lint/*/*.sql; do
  [ "$(basename "$f")" = setup.sql ] && continue
  dir=$work/case; rm -rf "$dir"; mkdir -p "$dir"
  cp testdata/lint/setup.sql "$dir/0001_setup.up.sql"
  n=1; chain=$f; prev=()
  while a=$(sed -n 's/^-- after: //p' "$chain") && [ -n "$a" ]; do
    chain=$(dirname "$f")/$a; prev=("$chain" "${prev[@]}")
  done
  for p in "${prev[@]}"; do n=$((n + 1)); cp "$p" "$dir/$(printf %04d $n)_prev.up.sql"; done
  n=$((n + 1)); cp "$f" "$dir/$(printf %04d $n)_case.up.sql"
  "$work/quantx-db" migrate lint --source "$dir" --since $((n - 1)) -o json >"$work/q.json" 2>/dev/null || true
  sflags=(--pg-version 15 --reporter json)
  head -1 "$f" | grep -q '^-- quantx:no-transaction' || sflags+=(--assume-in-transaction)
  "$squawk" "${sflags[@]}" "$f" >"$work/s.json" 2>/dev/null || true
  printf '%s\t%s\t%s\n' "$f" "$(cat "$work/q.json" | tr -d '\n')" "$(cat "$work/s.json" | tr -d '\n')"
done >"$work/findings.tsv"
python3 - "$work/findings.tsv" <<'PY'
import json, sys
# squawk rule -> the quantx-db rule that covers the same statement (None: no counterpart here).
same = {
    "require-concurrent-index-creation": "require-concurrent-index-creation",
    "require-concurrent-index-deletion": "require-concurrent-index-deletion",
    "require-concurrent-reindex": "require-concurrent-reindex",
    "require-concurrent-partition-detach": "require-concurrent-partition-detach",
    "ban-concurrent-index-creation-in-transaction": "requires-no-transaction",
    "adding-field-with-default": None,  # split here: volatile default / stored generated
    "adding-serial-primary-key-field": "adding-primary-key-constraint",
    "disallowed-unique-constraint": "disallowed-unique-constraint",
    "changing-column-type": "changing-column-type",
    "adding-not-nullable-field": "adding-not-nullable-field",
    "constraint-missing-not-valid": None,  # split here: CHECK / FK / VALIDATE in the same transaction
    "adding-foreign-key-constraint": "adding-foreign-key-constraint",
    "prefer-repack": None,
    "ban-alter-domain-with-add-constraint": "ban-alter-domain-with-add-constraint",
    "adding-required-field": "adding-required-field",
    "renaming-table": "renaming-table",
    "renaming-column": "renaming-column",
    "ban-drop-table": "ban-drop-table",
    "ban-drop-column": "ban-drop-column",
    "ban-truncate-cascade": "ban-truncate",
    "prefer-bigint-over-int": "prefer-bigint-over-int",
    "prefer-bigint-over-smallint": "prefer-bigint-over-int",
    "prefer-text-field": "prefer-text-field",
    "prefer-timestamptz": "prefer-timestamptz",
    "prefer-timestamp-tz": "prefer-timestamptz",
    "syntax-error": "syntax-error",
    "transaction-nesting": "transaction-control",
    "prefer-identity": "prefer-identity",
    "ban-char-field": "ban-char-field",
}
# quantx-db rules that a squawk rule (or one of several) covers.
covered_by = {
    "adding-field-with-default": {"adding-field-with-default", "adding-stored-generated-column"},
    "constraint-missing-not-valid": {"constraint-missing-not-valid", "adding-foreign-key-constraint", "validate-in-same-transaction"},
    "prefer-repack": {"ban-vacuum-full", "ban-cluster"},
}
timeouts = {"require-timeout-settings", "require-lock-timeout", "require-statement-timeout"}
diffs, agree, total = [], 0, 0
for line in open(sys.argv[1]):
    path, q, s = line.rstrip("\n").split("\t")
    ours = {f["rule"] for f in json.loads(q or '{"findings": []}')["findings"]}
    theirs_raw = {f["rule_name"] for f in (json.loads(s) if s.strip() else []) if "rule_name" in f}
    theirs_raw = {r for r in theirs_raw if r not in timeouts}  # quantx-db sets lock_timeout itself
    theirs = set()
    for r in theirs_raw:
        if same.get(r):
            theirs.add(same[r])
        elif r in covered_by:
            hit = covered_by[r] & ours
            theirs |= hit if hit else {"(" + r + ")"}
        else:
            theirs.add("(" + r + ")")
    total += 1
    if ours == theirs:
        agree += 1
    else:
        diffs.append((path, sorted(ours - theirs), sorted(theirs - ours)))
print(f"{agree} of {total} files: the same findings (squawk's timeout rules left out)")
for path, q_only, s_only in diffs:
    print(f"  {path}\n      only quantx-db: {', '.join(q_only) or '-'}\n      only squawk:    {', '.join(s_only) or '-'}")
PY
