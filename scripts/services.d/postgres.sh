# shellcheck shell=bash
# PostgreSQL 15 from Debian's postgresql-15, a throwaway cluster run as the existing `postgres` system user
# (initdb and postgres refuse root). Trust authentication on 127.0.0.1 and a socket directory in the run dir.

PG_PORT=${QUANTX_PG_PORT:-55432}
PG_BIN=${QUANTX_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_RUN=$QUANTX_RUN/postgres
PG_DATA=$PG_RUN/data
PG_LOG=$PG_RUN/postgres.log
PG_SOCK=$PG_RUN/sock

postgres_install() {
	[ -x "$PG_BIN/postgres" ] || apt_install postgresql-15
	id postgres >/dev/null 2>&1 || die "postgres: the postgres system user is missing after installing postgresql-15"
}

postgres_running() {
	pid_alive "$PG_DATA/postmaster.pid" && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 5
}

postgres_start() {
	if postgres_running; then
		log "postgres: already running on 127.0.0.1:$PG_PORT"
		return 0
	fi
	mkdir -p "$PG_RUN" "$PG_SOCK"
	chown postgres:postgres "$PG_RUN" "$PG_SOCK"
	if [ ! -s "$PG_DATA/PG_VERSION" ]; then
		rm -rf "$PG_DATA"
		runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust -U postgres -E UTF8 \
			--locale=C.UTF-8 --no-sync >"$PG_RUN/initdb.log" 2>&1 ||
			{
				tail -n 20 "$PG_RUN/initdb.log" >&2
				die "postgres: initdb failed"
			}
	fi
	# A stale pid file from a killed server would make pg_ctl refuse to start.
	if [ -f "$PG_DATA/postmaster.pid" ] && ! pid_alive "$PG_DATA/postmaster.pid"; then
		rm -f "$PG_DATA/postmaster.pid"
	fi
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$QUANTX_WAIT_SECONDS" start -o \
		"-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200 -c max_locks_per_transaction=256" >/dev/null ||
		{
			log "postgres: pg_ctl start failed; last lines of $PG_LOG:"
			tail -n 40 "$PG_LOG" >&2
			return 1
		}
	wait_ready postgres "$PG_LOG" "$PG_DATA/postmaster.pid" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
}

postgres_stop() {
	if [ -f "$PG_DATA/postmaster.pid" ] && pid_alive "$PG_DATA/postmaster.pid"; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null ||
			stop_pidfile postgres "$PG_DATA/postmaster.pid"
		log "postgres: stopped"
	else
		log "postgres: not running"
	fi
}

postgres_address() { echo "127.0.0.1:$PG_PORT"; }

postgres_env() {
	echo "export QUANTX_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable'"
}

postgres_version() {
	"$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'SHOW server_version' |
		sed 's/^/PostgreSQL /'
}
