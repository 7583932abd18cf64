# shellcheck shell=bash
# Pushgateway: Prometheus Pushgateway v1.11.1 (Apache-2.0) built with `go install` from the Go module
# proxy, for the tests of `--metrics-push`. Runs as root, in memory (no persistence file), on loopback.

PUSHGATEWAY_VERSION=1.11.1
PUSHGATEWAY_PORT=${QUANTX_PUSHGATEWAY_PORT:-59091}
PUSHGATEWAY_RUN=$QUANTX_RUN/pushgateway
PUSHGATEWAY_LOG=$PUSHGATEWAY_RUN/pushgateway.log
PUSHGATEWAY_PID=$PUSHGATEWAY_RUN/pushgateway.pid
PUSHGATEWAY_URL=http://127.0.0.1:$PUSHGATEWAY_PORT

pushgateway_install() {
	if [ -x "$QUANTX_BIN/pushgateway" ] &&
		"$QUANTX_BIN/pushgateway" --version 2>&1 | grep -q "version $PUSHGATEWAY_VERSION "; then
		return 0
	fi
	command -v go >/dev/null 2>&1 || die "go not found in PATH (Go 1.26 is needed to build the test servers)"
	# `go install github.com/prometheus/pushgateway@v1.11.1` fails here: it asks the proxy for the
	# module's version list (to look for a deprecation), which the proxy refuses. Building it from a
	# wrapper module that requires that version selects the same dependencies (pushgateway's go.mod).
	local dir=$QUANTX_DIST/pushgateway-$PUSHGATEWAY_VERSION v=github.com/prometheus/common/version
	mkdir -p "$dir" "$QUANTX_BIN"
	printf 'module quantx-db-services/pushgateway\n\ngo 1.24\n\nrequire github.com/prometheus/pushgateway v%s\n' \
		"$PUSHGATEWAY_VERSION" >"$dir/go.mod"
	log "go build github.com/prometheus/pushgateway@v$PUSHGATEWAY_VERSION"
	# The -X flags of the official release (.promu.yml), so that --version and /api/v1/status report
	# the real version. The module zip carries no VCS data: the revision is the release tag.
	(cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$QUANTX_BIN/pushgateway" \
		-ldflags "-s -w -X $v.Version=$PUSHGATEWAY_VERSION -X $v.Revision=v$PUSHGATEWAY_VERSION -X $v.Branch=HEAD \
			-X $v.BuildUser=quantx-db-services -X $v.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
		github.com/prometheus/pushgateway </dev/null >&2) || die "building pushgateway v$PUSHGATEWAY_VERSION failed"
}

pushgateway_running() {
	pid_alive "$PUSHGATEWAY_PID" && http_ok "$PUSHGATEWAY_URL/-/ready"
}

pushgateway_start() {
	if pushgateway_running; then
		log "pushgateway: already running on $PUSHGATEWAY_URL"
		return 0
	fi
	mkdir -p "$PUSHGATEWAY_RUN"
	rm -f "$PUSHGATEWAY_PID"
	nohup "$QUANTX_BIN/pushgateway" --web.listen-address="127.0.0.1:$PUSHGATEWAY_PORT" --log.level=warn \
		</dev/null >>"$PUSHGATEWAY_LOG" 2>&1 &
	echo $! >"$PUSHGATEWAY_PID"
	wait_ready pushgateway "$PUSHGATEWAY_LOG" "$PUSHGATEWAY_PID" http_ok "$PUSHGATEWAY_URL/-/ready"
}

pushgateway_stop() { stop_pidfile pushgateway "$PUSHGATEWAY_PID"; }

pushgateway_address() { echo "$PUSHGATEWAY_URL"; }

pushgateway_env() {
	echo "export QUANTX_TEST_PUSHGATEWAY_URL=$PUSHGATEWAY_URL"
}

pushgateway_version() {
	curl -fsS -m 5 "$PUSHGATEWAY_URL/api/v1/status" |
		sed -n 's/.*"build_information":{[^}]*"version":"\([^"]*\)".*/pushgateway \1/p'
}
