# shellcheck shell=bash
# InfluxDB 1.8.10 built from source with `go install` (pure Go, CGO off). Runs as root (influxd allows it).
# Auth is on; the admin user is created on first start, while the server still has no users (InfluxDB
# allows that one unauthenticated CREATE USER ... WITH ALL PRIVILEGES).

INFLUX_VERSION=1.8.10
INFLUX_HTTP_PORT=${QUANTX_INFLUX_PORT:-58086}
INFLUX_RPC_PORT=${QUANTX_INFLUX_RPC_PORT:-58088}
INFLUX_RUN=$QUANTX_RUN/influxdb
INFLUX_LOG=$INFLUX_RUN/influxd.log
INFLUX_PID=$INFLUX_RUN/influxd.pid
INFLUX_URL=http://127.0.0.1:$INFLUX_HTTP_PORT

influxdb_install() {
	if [ -x "$QUANTX_BIN/influxd" ] && [ -x "$QUANTX_BIN/influx" ] &&
		"$QUANTX_BIN/influxd" version 2>/dev/null | grep -q "v$INFLUX_VERSION"; then
		return 0
	fi
	# Without the -X flags /health and /ping report version "unknown".
	CGO_ENABLED=0 go_install -ldflags "-s -w -X main.version=$INFLUX_VERSION -X main.commit=v$INFLUX_VERSION -X main.branch=1.8" \
		"github.com/influxdata/influxdb/cmd/influxd@v$INFLUX_VERSION" \
		"github.com/influxdata/influxdb/cmd/influx@v$INFLUX_VERSION"
}

influxdb_password() { secret influxdb-admin; }

influxdb_running() {
	pid_alive "$INFLUX_PID" && http_ok "$INFLUX_URL/ping"
}

influxdb_start() {
	if influxdb_running; then
		log "influxdb: already running on $INFLUX_URL"
		return 0
	fi
	mkdir -p "$INFLUX_RUN"/{meta,data,wal}
	cat >"$INFLUX_RUN/influxdb.conf" <<CONF
reporting-disabled = true
# backup/restore RPC: no authentication, so loopback only
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"

[meta]
  dir = "$INFLUX_RUN/meta"

[data]
  dir = "$INFLUX_RUN/data"
  wal-dir = "$INFLUX_RUN/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_HTTP_PORT"
  auth-enabled = true
  flux-enabled = true
  log-enabled = false

[continuous_queries]
  log-enabled = false
CONF
	rm -f "$INFLUX_PID"
	nohup "$QUANTX_BIN/influxd" run -config "$INFLUX_RUN/influxdb.conf" -pidfile "$INFLUX_PID" \
		</dev/null >>"$INFLUX_LOG" 2>&1 &
	# influxd writes its pid file itself; until then the background pid is the one to watch.
	local pid=$!
	[ -s "$INFLUX_PID" ] || echo "$pid" >"$INFLUX_PID"
	# HTTP opens only after Flux is initialised (3-5 s).
	wait_ready influxdb "$INFLUX_LOG" "$INFLUX_PID" http_ok "$INFLUX_URL/ping" || return 1
	influxdb_ensure_admin
}

# influxdb_ensure_admin creates the admin user when the server has none yet, then checks the password.
influxdb_ensure_admin() {
	local pw out
	pw=$(influxdb_password)
	if curl -fs -m 10 -o /dev/null -u "admin:$pw" "$INFLUX_URL/query" --data-urlencode "q=SHOW USERS"; then
		return 0
	fi
	out=$(curl -sS -m 10 -XPOST "$INFLUX_URL/query" \
		--data-urlencode "q=CREATE USER admin WITH PASSWORD '$pw' WITH ALL PRIVILEGES") || true
	case "$out" in *error*) die "influxdb: creating the admin user failed: $out (delete $INFLUX_RUN to start over)" ;; esac
	curl -fsS -m 10 -o /dev/null -u "admin:$pw" "$INFLUX_URL/query" --data-urlencode "q=SHOW USERS" ||
		die "influxdb: admin login fails after creating the user"
}

influxdb_stop() { stop_pidfile influxdb "$INFLUX_PID"; }

influxdb_address() { echo "$INFLUX_URL (rpc 127.0.0.1:$INFLUX_RPC_PORT)"; }

influxdb_env() {
	echo "export QUANTX_TEST_INFLUX_URL=$INFLUX_URL"
	echo "export QUANTX_TEST_INFLUX_TOKEN='admin:$(influxdb_password)'"
	echo "export QUANTX_TEST_INFLUX_RPC=127.0.0.1:$INFLUX_RPC_PORT"
}

influxdb_version() {
	curl -fsS -m 5 -o /dev/null -D - "$INFLUX_URL/ping" | tr -d '\r' |
		awk -F': ' 'tolower($1) == "x-influxdb-version" { print "InfluxDB " $2 }'
}
