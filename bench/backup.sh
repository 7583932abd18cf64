#!/usr/bin/env bash
# bench/backup.sh: quantx-db backup/restore against the stock tools, in one run (issue 7).
#
#   bench/backup.sh [SCALE_BIG] [SCALE_SMALL] [ROUNDS]   (pgbench scales; default 70 ≈ 1.05 GB and 10 ≈ 150 MB;
#                                                        ROUNDS default 5, at least 5)
#
# Baselines are the server's own binaries ($PGBIN, default /usr/lib/postgresql/15/bin), as quantx-db
# itself runs them, not Debian's Perl wrappers in /usr/bin. Each figure is the median of ROUNDS, and the
# sides alternate which goes first (odd rounds: stock tool first; even rounds: quantx-db first).
#
# Needs the test services (scripts/services up postgres s3); reads $QUANTX_CACHE/services.env. Creates
# throwaway databases and a throwaway bucket prefix, and drops them at the end. Prints:
#   backup  wall(quantx-db backup postgres) / wall(pg_dump -Fc > /dev/null)   goal ≤ 1.10
#   rss     peak RSS of quantx-db backup at both sizes                          goal ≤ 100 MiB
#   restore wall(quantx-db restore postgres, serial) / wall(pg_restore -d DB FILE)   goal ≤ 1.15
set -euo pipefail
cd "$(dirname "$0")/.."
BIG=${1:-70}
SMALL=${2:-10}
ROUNDS=${3:-5}
[ "$ROUNDS" -ge 5 ] || { echo "ROUNDS must be at least 5" >&2; exit 2; }
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
psql() { "$PGBIN/psql" "$@"; }
pg_dump() { "$PGBIN/pg_dump" "$@"; }
pgbench() { "$PGBIN/pgbench" "$@"; }
CACHE=${QUANTX_CACHE:-$HOME/.cache/quantx-db}
# shellcheck disable=SC1091
source "$CACHE/services.env"
ADMIN=$QUANTX_TEST_DATABASE_URL
base=${ADMIN%%\?*}; base=${base%/*}            # postgres://user@host:port
opts=${ADMIN#*\?}; [ "$opts" = "$ADMIN" ] && opts=""
url() { echo "$base/$1${opts:+?$opts}"; }
WORK=$(mktemp -d /var/tmp/quantx-bench-backup.XXXXXX)
BIN=$WORK/quantx-db
RUN=$$
DBS=()
cleanup() {
	for db in "${DBS[@]}"; do psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$BIN" ./cmd/quantx-db

export QUANTX_S3_ENDPOINT=$QUANTX_TEST_S3_ENDPOINT QUANTX_S3_ACCESS_KEY=$QUANTX_TEST_S3_ACCESS_KEY \
	QUANTX_S3_SECRET_KEY=$QUANTX_TEST_S3_SECRET_KEY QUANTX_S3_BUCKET=$QUANTX_TEST_S3_BUCKET \
	QUANTX_S3_PREFIX=bench-backup-$RUN/
secs() { awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
rss_mib() { awk '/Maximum resident set size/ {printf "%.1f", $NF/1024}' "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }

declare -A RES
for scale in "$BIG" "$SMALL"; do
	db=bench_backup_${RUN}_s$scale
	DBS+=("$db")
	psql -q "$ADMIN" -c "CREATE DATABASE $db" >/dev/null
	echo "== pgbench -i -s $scale ($db)" >&2
	pgbench -i -q -s "$scale" "$(url "$db")" >/dev/null 2>&1
	# Settle first: autovacuum on the fresh tables would otherwise run during the first measurement.
	psql -q "$(url "$db")" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
	size=$(psql -tA "$(url "$db")" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
	pg_dump -Fc "$(url "$db")" > /dev/null # warm the page cache for everyone
	: >"$WORK/dump.s"; : >"$WORK/qx.s"; : >"$WORK/qxn.s"; RSS=0
	dump() {
		/usr/bin/time -v "$PGBIN/pg_dump" -Fc "$(url "$db")" > /dev/null 2> "$WORK/dump.time"
		secs "$WORK/dump.time" >> "$WORK/dump.s"
	}
	qx() {
		QUANTX_DATABASE_URL=$(url "$db") /usr/bin/time -v "$BIN" backup postgres -o json > "$WORK/m.json" 2> "$WORK/qx.time"
		secs "$WORK/qx.time" >> "$WORK/qx.s"
		RSS=$(maxof "$RSS" "$(rss_mib "$WORK/qx.time")")
	}
	qxn() {
		QUANTX_DATABASE_URL=$(url "$db") /usr/bin/time -v "$BIN" backup postgres --skip-counts > /dev/null 2> "$WORK/qxn.time"
		secs "$WORK/qxn.time" >> "$WORK/qxn.s"
	}
	for round in $(seq "$ROUNDS"); do # alternating, so that neither side gets a quieter machine
		if (( round % 2 )); then dump; qx; qxn; else qxn; qx; dump; fi
	done
	DUMP=$(median < "$WORK/dump.s") QX=$(median < "$WORK/qx.s") QXN=$(median < "$WORK/qxn.s")
	id=$(sed -n 's/^  "id": "\(.*\)",/\1/p' "$WORK/m.json")
	dumpsize=$(sed -n 's/^  "size": \([0-9]*\),/\1/p' "$WORK/m.json")
	RES[$scale]="db $size, dump $((dumpsize / 1048576)) MiB: pg_dump ${DUMP}s, quantx-db ${QX}s (--skip-counts ${QXN}s), peak RSS ${RSS} MiB"
	echo "   $scale: ${RES[$scale]}" >&2
	if [ "$scale" = "$BIG" ]; then
		BIG_DUMP=$DUMP BIG_QX=$QX BIG_QXN=$QXN BIG_RSS=$RSS
		# Restore: stock pg_restore from a local file vs quantx-db streaming from S3, both serial, each
		# into a fresh database every round.
		pg_dump -Fc -f "$WORK/local.pgdump" "$(url "$db")"
		: >"$WORK/pgr.s"; : >"$WORK/qxr.s"; QXR_RSS=0
		pgr() {
			/usr/bin/time -v "$PGBIN/pg_restore" --exit-on-error -d "$(url "${db}_r1")" "$WORK/local.pgdump" 2> "$WORK/pgr.time"
			secs "$WORK/pgr.time" >> "$WORK/pgr.s"
		}
		qxr() {
			/usr/bin/time -v "$BIN" restore postgres "$id" --target-database-url "$(url "${db}_r2")" > /dev/null 2> "$WORK/qxr.time"
			secs "$WORK/qxr.time" >> "$WORK/qxr.s"
			QXR_RSS=$(maxof "$QXR_RSS" "$(rss_mib "$WORK/qxr.time")")
		}
		DBS+=("${db}_r1" "${db}_r2")
		for round in $(seq "$ROUNDS"); do
			for t in r1 r2; do psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS ${db}_$t WITH (FORCE)" -c "CREATE DATABASE ${db}_$t" >/dev/null; done
			if (( round % 2 )); then pgr; qxr; else qxr; pgr; fi
		done
		PGR=$(median < "$WORK/pgr.s") QXR=$(median < "$WORK/qxr.s")
		for t in r1 r2; do psql -q "$ADMIN" -c "DROP DATABASE ${db}_$t WITH (FORCE)" >/dev/null; done
		rm -f "$WORK/local.pgdump"
	else
		SMALL_RSS=$RSS
	fi
	psql -q "$ADMIN" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
done
# Remove the benchmark's objects from the shared test bucket (curl signs S3 requests itself).
s3() { curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$QUANTX_S3_ACCESS_KEY:$QUANTX_S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
for key in $(s3 "http://$QUANTX_S3_ENDPOINT/$QUANTX_S3_BUCKET?list-type=2&prefix=$QUANTX_S3_PREFIX" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'); do
	s3 -X DELETE "http://$QUANTX_S3_ENDPOINT/$QUANTX_S3_BUCKET/$key" >/dev/null || echo "could not delete $key" >&2
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "command: bench/backup.sh $BIG $SMALL $ROUNDS   (PGBIN=$PGBIN; medians of $ROUNDS rounds, order alternated)"
echo "scale $BIG:   ${RES[$BIG]}"
echo "scale $SMALL: ${RES[$SMALL]}"
echo "backup  ratio quantx-db/pg_dump = $(ratio "$BIG_QX" "$BIG_DUMP") with exact row counts, $(ratio "$BIG_QXN" "$BIG_DUMP") with --skip-counts  (goal <= 1.10)"
echo "rss     quantx-db backup peak RSS = ${BIG_RSS} MiB (scale $BIG), ${SMALL_RSS} MiB (scale $SMALL)  (goal <= 100)"
echo "restore ratio quantx-db/pg_restore = $(ratio "$QXR" "$PGR")  (pg_restore ${PGR}s, quantx-db ${QXR}s, rss ${QXR_RSS} MiB; goal <= 1.15)"
