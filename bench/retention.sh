#!/usr/bin/env bash
# bench/retention.sh [ROWS,ROWS...] [EXPIRE_MONTHS] [ARCHIVE_ROWS] [RUNS]
#
# quantx-db retention apply --no-archive vs the seed's DELETE + VACUUM, on identical copies of the same
# activity_logs data (rows spread over 24 months, EXPIRE_MONTHS of them expired), in a private PostgreSQL
# cluster. Prints wall time and WAL bytes (runs without load) and the p99 latency of a concurrent
# single-row insert loop (runs with load, on two more copies) as ratios. With ARCHIVE_ROWS equal to one of
# the sizes, also compares archiving to S3 against pg_dump -t + DELETE at that size (needs the S3 test
# server: scripts/services up s3). Every figure is the median of RUNS (default 5, at least 5), each run on
# fresh byte copies, the two sides alternating which goes first; pg_dump is $PGBIN's (the server's own).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source "${QUANTX_CACHE:-$HOME/.cache/quantx-db}/services.env"
# shellcheck source=bench/retention_cluster.sh
source bench/retention_cluster.sh
bench_pg_start
bin=$(mktemp -d)/quantx-db
go build -o "$bin" ./cmd/quantx-db
go build -o "$bin-bench" ./bench/retention
"$bin-bench" -admin-url "$BENCH_PG_URL" -bin "$bin" -rows "${1:-5000000,10000000}" -expire-months "${2:-6}" -archive-rows "${3:-}" \
	-runs "${4:-5}" -pgbin "${PGBIN:-/usr/lib/postgresql/15/bin}"
