#!/usr/bin/env bash
# bench/migrate.sh: wall time of `quantx-db migrate up` on an empty database
# against psql applying the same up files, measured in the same run.
#
# Baseline: `psql -1 -f` of the transactional up files concatenated, plus
# `psql -f` of the no-transaction files (CREATE INDEX CONCURRENTLY cannot run
# under -1). Each round uses fresh databases; the median of ROUNDS is reported.
#
# Usage: scripts/services up postgres && bench/migrate.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-15}
# shellcheck disable=SC1090
source "${QUANTX_CACHE:-$HOME/.cache/quantx-db}/services.env"
admin=$QUANTX_TEST_DATABASE_URL
base=${admin%%\?*}; base=${base%/*}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -o "$work/quantx-db" ./cmd/quantx-db

: >"$work/tx.sql"; : >"$work/notx.list"
for f in migrations/sql/*.up.sql; do
  if head -1 "$f" | grep -q '^-- quantx:no-transaction'; then echo "$f" >>"$work/notx.list"; else cat "$f" >>"$work/tx.sql"; echo >>"$work/tx.sql"; fi
done

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fresh() { psql -qX "$admin" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null 2>&1; }

for i in $(seq "$ROUNDS"); do
  fresh bench_mig_q; fresh bench_mig_p
  t0=$(now); QUANTX_DATABASE_URL="$base/bench_mig_q?sslmode=disable" "$work/quantx-db" migrate up --log-level error >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000 )) >>"$work/q"
  t0=$(now)
  psql -qX -v ON_ERROR_STOP=1 -1 -f "$work/tx.sql" "$base/bench_mig_p" >/dev/null
  while read -r f; do psql -qX -v ON_ERROR_STOP=1 -f "$f" "$base/bench_mig_p" >/dev/null; done <"$work/notx.list"
  t1=$(now)
  echo $(( (t1 - t0) / 1000 )) >>"$work/p"
done
psql -qX "$admin" -c "DROP DATABASE bench_mig_q" -c "DROP DATABASE bench_mig_p" >/dev/null
q=$(median <"$work/q"); p=$(median <"$work/p")
printf 'rounds=%d  quantx-db migrate up: %.1f ms  psql -1 -f: %.1f ms  ratio: %.2fx (goal <= 1.30x)\n' \
  "$ROUNDS" "$(echo "$q/1000" | bc -l)" "$(echo "$p/1000" | bc -l)" "$(echo "$q/$p" | bc -l)"
