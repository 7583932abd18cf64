#!/usr/bin/env bash
# bench/partitions.sh [RUNS]: `quantx-db partitions ensure --months-ahead 36` vs pg_partman 4.7
# create_parent(p_premake => 36) + run_maintenance() on fresh copies of the QuantX schema in a private cluster, plus the
# "row already in DEFAULT" case. Needs PostgreSQL 15 binaries and `apt-get install -y postgresql-15-partman`.
# RUNS (default 5, at least 5): the median is reported, and the two sides alternate which goes first.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source "${QUANTX_CACHE:-$HOME/.cache/quantx-db}/services.env"
test -f /usr/share/postgresql/15/extension/pg_partman.control || { echo "install postgresql-15-partman first" >&2; exit 2; }
# shellcheck source=bench/retention_cluster.sh
source bench/retention_cluster.sh
BENCH_PG_PORT=${BENCH_PG_PORT:-55491} bench_pg_start
bin=$(mktemp -d)/quantx-db
go build -o "$bin" ./cmd/quantx-db
go build -o "$bin-bench" ./bench/partitions
"$bin-bench" -admin-url "$BENCH_PG_URL" -bin "$bin" -runs "${1:-5}" -pgbin "${PGBIN:-/usr/lib/postgresql/15/bin}"
