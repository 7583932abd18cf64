#!/usr/bin/env bash
# bench/pitr.sh: physical backups and point-in-time restores, quantx-db against bare pgBackRest in one
# run, and the recovery point under a steady write load (issue 12).
#
#   bench/pitr.sh [SCALE] [LOAD_SECONDS] [RUNS]     (pgbench scale, default 70 ≈ 1.05 GB; load 300 s; 3 runs)
#
# Needs the test services (scripts/services up s3tls; pgbackrest and PostgreSQL 15 installed). Starts a
# private cluster (fsync off, as every benchmark here) owned by postgres, archives into a throwaway
# prefix of the TLS test bucket, and removes both at the end. Prints:
#   backup   wall(quantx-db backup physical --type full) / wall(pgbackrest backup --type=full)     goal ≤ 1.05
#   restore  wall(quantx-db restore pitr --target-time T --start) / wall(pgbackrest restore --type=time
#            --target=T + pg_ctl start + wait until recovery has finished)                      goal ≤ 1.05
#   rpo      worst age, sampled each second during LOAD_SECONDS of pgbench -R, of the newest WAL
#            position that is archived, behind the current insert position       goal ≤ archive_timeout + 5 s
#   also     WAL archived per minute, and S3 bytes per GB of database for a physical full backup and
#            for a logical one (quantx-db backup postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-70}
LOAD=${2:-300}
RUNS=${3:-3}
CACHE=${QUANTX_CACHE:-$HOME/.cache/quantx-db}
# shellcheck disable=SC1091
source "$CACHE/services.env"
: "${QUANTX_TEST_S3_TLS_ENDPOINT:?start the TLS S3 server: scripts/services up s3tls}"
PGBIN=/usr/lib/postgresql/15/bin
RUN=$$
PORT=$((20000 + RUN % 20000))
RPORT=$((PORT + 1))
base=${QUANTX_RUN:-/var/tmp/quantx-db-run}
mkdir -p "$base"
WORK=$(mktemp -d "$base/bench-pitr.XXXXXX")
chmod 755 "$WORK"
chown postgres "$WORK"
DATA=$WORK/data
STANZA=bench
CONF=$WORK/pgbackrest.conf
PREFIX=bench-pitr-$RUN/
BIN=$WORK/quantx-db
export QUANTX_S3_ENDPOINT=$QUANTX_TEST_S3_TLS_ENDPOINT QUANTX_S3_ACCESS_KEY=$QUANTX_TEST_S3_TLS_ACCESS_KEY \
	QUANTX_S3_SECRET_KEY=$QUANTX_TEST_S3_TLS_SECRET_KEY QUANTX_S3_BUCKET=$QUANTX_TEST_S3_TLS_BUCKET QUANTX_S3_TLS=true \
	QUANTX_S3_CA_FILE=$QUANTX_TEST_S3_CA_FILE QUANTX_S3_PREFIX=$PREFIX QUANTX_PGBACKREST_CONFIG=$CONF QUANTX_STANZA=$STANZA
ENV=(QUANTX_S3_ENDPOINT QUANTX_S3_ACCESS_KEY QUANTX_S3_SECRET_KEY QUANTX_S3_BUCKET QUANTX_S3_TLS QUANTX_S3_CA_FILE
	QUANTX_S3_PREFIX QUANTX_PGBACKREST_CONFIG QUANTX_STANZA)
# pg runs a command as postgres (the data directory's owner) with the quantx-db settings.
pg() {
	local kv=() v
	for v in "${ENV[@]}"; do kv+=("$v=${!v}"); done
	(cd / && runuser -u postgres -- env "${kv[@]}" "$@")
}
pgb() { pg pgbackrest --config="$CONF" --stanza=$STANZA "$@"; }
sql() { "$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "${2:-$PORT}" -U postgres -d bench -c "$1"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
stop_dir() { [ -f "$1/postmaster.pid" ] && pg "$PGBIN/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1 || true; }
cleanup() {
	stop_dir "$WORK/r"
	stop_dir "$DATA"
	if [ -f "$CONF" ]; then
		{ pgb stop && pgb stanza-delete; } >/dev/null 2>&1 || echo "left the repository under ${PREFIX}pgbackrest" >&2
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$BIN" ./cmd/quantx-db
chmod 755 "$BIN"
echo "== cluster on port $PORT, pgbench -i -s $SCALE" >&2
pg "$PGBIN/initdb" -D "$DATA" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
cat >>"$DATA/postgresql.conf" <<EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/postgres.log" -w start >/dev/null
sql "SELECT 1" 2>/dev/null || "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE bench"
t0=$(now)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PORT" -U postgres bench >/dev/null 2>&1
sql "VACUUM ANALYZE" && sql "CHECKPOINT"
DBBYTES=$(sql "SELECT sum(pg_database_size(datname)) FROM pg_database")
echo "   loaded in $(elapsed "$t0") s: cluster $((DBBYTES / 1048576)) MiB" >&2

echo "== wal setup" >&2
setup() { pg "$BIN" wal setup --pgdata "$DATA" --log-path "$WORK/log" --lock-path "$WORK/lock" --spool-path "$WORK/spool" \
	--pgbackrest-option start-fast=y --log-level warn >/dev/null; }
setup
pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/postgres.log" -w restart >/dev/null
setup
ARCHIVE_TIMEOUT=$(sql "SELECT setting FROM pg_settings WHERE name = 'archive_timeout'")

echo "== backup: quantx-db backup physical --type full vs pgbackrest backup --type=full, $RUNS runs each" >&2
QX=() BARE=()
qx_backup() { t0=$(now); pg "$BIN" backup physical --type full -o json >"$WORK/backup.json"; QX+=("$(elapsed "$t0")"); }
bare_backup() { t0=$(now); pgb backup --type=full; BARE+=("$(elapsed "$t0")"); }
for i in $(seq "$RUNS"); do # alternate who goes first: neither side gets the warmer caches every time
	if [ $((i % 2)) = 1 ]; then qx_backup; bare_backup; else bare_backup; qx_backup; fi
	echo "   run $i: quantx-db ${QX[-1]} s, pgbackrest ${BARE[-1]} s" >&2
done
QXB=$(echo "${QX[*]}" | median) BAREB=$(echo "${BARE[*]}" | median)
REPOFULL=$(pgb --output=json info | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["info"]["repository"]["delta"])')

echo "== restore: quantx-db restore pitr --start vs pgbackrest restore + pg_ctl start, $RUNS runs each" >&2
"$PGBIN/pgbench" -n -c 2 -T 20 -h 127.0.0.1 -p "$PORT" -U postgres bench >/dev/null 2>&1 &
LOADPID=$!
sleep 10
T=$(sql "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
wait "$LOADPID"
SEG=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
until [ "$(sql "SELECT coalesce(last_archived_wal, '') >= '$SEG' FROM pg_stat_archiver")" = t ]; do sleep 0.2; done
SET=$(pgb --output=json info | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["label"])')
PGTARGET=$(echo "$T" | sed 's/T/ /; s/Z$/+00/')
wait_promoted() { until [ "$(sql "SELECT pg_is_in_recovery()" "$RPORT" 2>/dev/null)" = f ]; do sleep 0.1; done; }
QXR=() BARER=()
qx_restore() {
	t0=$(now)
	pg "$BIN" restore pitr --pgdata "$WORK/r" --target-time "$T" --start --port "$RPORT" -o json >"$WORK/restore.json"
	QXR+=("$(elapsed "$t0")")
	QXPHASES=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("copy %.2f s, start and recovery %.2f s" % (r["restore_ms"]/1000, r["recovery_ms"]/1000))' "$WORK/restore.json")
	ROWS_QX=$(sql "SELECT count(*) FROM pgbench_history" "$RPORT")
	stop_dir "$WORK/r" && rm -rf "$WORK/r"
}
bare_restore() {
	local timed=${1:-yes}
	t0=$(now)
	pg mkdir -m 700 "$WORK/r"
	pgb --pg1-path="$WORK/r" restore --set="$SET" --type=time "--target=$PGTARGET" --target-action=promote --archive-mode=off
	BARECOPY=$(elapsed "$t0")
	pg "$PGBIN/pg_ctl" -D "$WORK/r" -l "$WORK/r/restore.log" -o "-p $RPORT" -W start >/dev/null
	wait_promoted
	[ "$timed" = yes ] && BARER+=("$(elapsed "$t0")")
	ROWS_BARE=$(sql "SELECT count(*) FROM pgbench_history" "$RPORT")
	stop_dir "$WORK/r" && rm -rf "$WORK/r"
}
bare_restore untimed # warm-up: the S3 server's files and the page cache are then equally warm for both
for i in $(seq "$RUNS"); do
	if [ $((i % 2)) = 1 ]; then qx_restore; bare_restore; else bare_restore; qx_restore; fi
	[ "$ROWS_QX" = "$ROWS_BARE" ] || { echo "restores differ: $ROWS_QX vs $ROWS_BARE rows" >&2; exit 1; }
	echo "   run $i: quantx-db ${QXR[-1]} s ($QXPHASES), pgbackrest + pg_ctl ${BARER[-1]} s (copy $BARECOPY s) ($ROWS_QX history rows at $T, set $SET)" >&2
done
QXRM=$(echo "${QXR[*]}" | median) BARERM=$(echo "${BARER[*]}" | median)

echo "== recovery point under pgbench -R 100 for $LOAD s (archive_timeout ${ARCHIVE_TIMEOUT}s), sampled each second" >&2
# The sampler keeps (time, insert LSN) pairs; the recovery point at a sample is the newest earlier sample
# whose insert LSN is at or below the end of the newest archived segment. Its age is what a disaster at
# that second would lose.
cat >"$WORK/sample.sql" <<'EOF'
CREATE TEMP TABLE s (t timestamptz, lsn pg_lsn);
\set QUIET on
\t on
\a
WITH ins AS (INSERT INTO s SELECT clock_timestamp(), pg_current_wal_insert_lsn()),
a AS (SELECT last_archived_wal w FROM pg_stat_archiver WHERE last_archived_wal ~ '^[0-9A-F]{24}$'),
e AS (SELECT '0/0'::pg_lsn + (('x' || substr(w, 9, 8))::bit(32)::bigint * 4294967296
        + (('x' || substr(w, 17, 8))::bit(32)::bigint + 1) * 16777216)::numeric AS end_lsn FROM a)
-- Before any sample qualifies, the age is at least the time since the first sample.
SELECT round(extract(epoch FROM clock_timestamp() - coalesce(
         (SELECT max(s.t) FROM s, e WHERE s.lsn <= e.end_lsn), (SELECT min(t) FROM s), clock_timestamp()))::numeric, 1)
\watch 1
EOF
timeout "$((LOAD + 120))" stdbuf -oL "$PGBIN/psql" -X -h 127.0.0.1 -p "$PORT" -U postgres -d bench -f "$WORK/sample.sql" >"$WORK/lag.txt" 2>/dev/null &
SAMPLER=$!
sleep 1
SEG=$(sql "SELECT pg_walfile_name(pg_switch_wal())") # a clean start: everything before now is archived
until [ "$(sql "SELECT coalesce(last_archived_wal, '') >= '$SEG' FROM pg_stat_archiver")" = t ]; do sleep 0.2; done
ARCH0=$(sql "SELECT archived_count FROM pg_stat_archiver")
LSN0=$(sql "SELECT pg_current_wal_insert_lsn()")
REPO0=$(pgb --output=json repo-ls --recurse "archive/$STANZA" | python3 -c 'import json,sys; print(sum(v.get("size", 0) for v in json.load(sys.stdin).values()))')
"$PGBIN/pgbench" -n -c 2 -R 100 -T "$LOAD" -h 127.0.0.1 -p "$PORT" -U postgres bench >"$WORK/pgbench.txt" 2>&1
kill "$SAMPLER" 2>/dev/null || true # line-buffered: every sample so far is in lag.txt
wait "$SAMPLER" || true
WORST=$(grep -E '^[0-9.]+$' "$WORK/lag.txt" | sort -n | tail -1)
SAMPLES=$(grep -cE '^[0-9.]+$' "$WORK/lag.txt")
ARCH1=$(sql "SELECT archived_count FROM pg_stat_archiver")
WALBYTES=$(sql "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$LSN0')")
REPO1=$(pgb --output=json repo-ls --recurse "archive/$STANZA" | python3 -c 'import json,sys; print(sum(v.get("size", 0) for v in json.load(sys.stdin).values()))')
TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.txt" | head -1)

echo "== logical backup size (quantx-db backup postgres)" >&2
QUANTX_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/bench?sslmode=disable" "$BIN" backup postgres --skip-counts -o json >"$WORK/logical.json"
LOGICAL=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(o["size"] for o in m["objects"]))' "$WORK/logical.json")
BENCHBYTES=$(sql "SELECT pg_database_size('bench')")
# The logical backup's objects go; the physical ones go with stanza-delete in cleanup.
python3 - "$WORK/logical.json" <<'EOF' | while read -r key; do curl -sS -o /dev/null -X DELETE --cacert "$QUANTX_S3_CA_FILE" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$QUANTX_S3_ACCESS_KEY:$QUANTX_S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "https://$QUANTX_S3_ENDPOINT/$QUANTX_S3_BUCKET/$key"; done
import json, sys, os
m = json.load(open(sys.argv[1]))
p = os.environ["QUANTX_S3_PREFIX"]
for o in m["objects"]:
    print(p + o["key"])
print(p + "backups/" + m["id"] + "/manifest.json")
EOF

gib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1073741824 }'; }
echo
echo "cluster: $((DBBYTES / 1048576)) MiB (bench database $((BENCHBYTES / 1048576)) MiB), pgbench scale $SCALE, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "backup  quantx-db backup physical --type full: median ${QXB} s (${QX[*]}); pgbackrest backup: median ${BAREB} s (${BARE[*]}); ratio $(ratio "$QXB" "$BAREB") (goal <= 1.05)"
echo "restore quantx-db restore pitr --start: median ${QXRM} s (${QXR[*]}); pgbackrest restore + pg_ctl start + promoted: median ${BARERM} s (${BARER[*]}); ratio $(ratio "$QXRM" "$BARERM") (goal <= 1.05)"
echo "rpo     worst ${WORST} s over ${SAMPLES} samples, pgbench -R 100 (${TPS} tps) for ${LOAD} s; goal <= archive_timeout + 5 = $((ARCHIVE_TIMEOUT + 5)) s"
echo "wal     written $(awk -v b="$WALBYTES" -v s="$LOAD" 'BEGIN { printf "%.1f", b / 1048576 / (s / 60) }') MiB/min; archived $((ARCH1 - ARCH0)) segments of 16 MiB in ${LOAD} s ($(awk -v n=$((ARCH1 - ARCH0)) -v s="$LOAD" 'BEGIN { printf "%.1f", n / (s / 60) }')/min, switched at least every archive_timeout), stored $(awk -v b=$((REPO1 - REPO0)) -v s="$LOAD" 'BEGIN { printf "%.2f", b / 1048576 / (s / 60) }') MiB/min (compressed)"
echo "s3      physical full: $((REPOFULL / 1048576)) MiB for $(gib "$DBBYTES") GiB = $(awk -v a="$REPOFULL" -v b="$DBBYTES" 'BEGIN { printf "%.0f", a / (b / 1073741824) / 1048576 }') MiB per GiB; logical (pg_dump -Fc + globals): $((LOGICAL / 1048576)) MiB for $(gib "$BENCHBYTES") GiB = $(awk -v a="$LOGICAL" -v b="$BENCHBYTES" 'BEGIN { printf "%.0f", a / (b / 1073741824) / 1048576 }') MiB per GiB"
