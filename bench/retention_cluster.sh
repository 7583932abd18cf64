# Sourced by bench/retention.sh and bench/partitions.sh: starts a private, throwaway PostgreSQL 15
# cluster so that WAL positions measure only the benchmark (the shared test server also carries other
# tests' WAL), and stops it on exit. Sets BENCH_PG_URL. fsync is off (nothing here must survive a
# crash); full_page_writes stays on so that WAL volumes are those of a production server.
bench_pg_start() {
	local port=${BENCH_PG_PORT:-55490} pgbin=/usr/lib/postgresql/15/bin
	BENCH_PG_DIR=$(mktemp -d /var/tmp/quantx-bench-pg.XXXXXX)
	chown postgres "$BENCH_PG_DIR"
	runuser -u postgres -- "$pgbin/initdb" -D "$BENCH_PG_DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$BENCH_PG_DIR/data" -w -l "$BENCH_PG_DIR/log" start \
		-o "-p $port -k $BENCH_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_wal_size=8GB -c shared_buffers=1GB -c max_connections=50" >/dev/null
	trap bench_pg_stop EXIT
	BENCH_PG_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

bench_pg_stop() {
	runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$BENCH_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$BENCH_PG_DIR"
}
