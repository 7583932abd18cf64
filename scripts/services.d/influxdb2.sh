# shellcheck shell=bash
# InfluxDB 2.7 (OPTIONAL, not part of `up` with no names: `scripts/services up influxdb2`).
# 2.x needs libflux, a Rust library built through cgo by InfluxData's pkg-config wrapper, which runs
# cargo (crates come from crates.io). `go install` refuses the module (replace directives), so the
# source is copied out of the module cache and built there. Needs cargo (rustup stable) on PATH.
# flux's Rust crates deny all warnings by default (feature "strict"); newer rustc versions add lints
# that then fail the build, so the copied flux source is built without that feature.
# The version is stamped as InfluxData's release builds stamp it: their CI passes the git tag
# (`git describe --exact-match --tags`, see the release's GNUmakefile and scripts/ci/build.sh) as
# -X main.version, so a released 2.7.12 reports "v2.7.12" in X-Influxdb-Version and /health, and
# clients must accept the "v". The commit is the tag too: the module source carries no git hash.

INFLUX2_VERSION=2.7.12
INFLUX2_FLUX_VERSION=0.196.1 # the flux version influxdb v2.7.12's go.mod requires
INFLUX2_PORT=${QUANTX_INFLUX2_PORT:-58087}
INFLUX2_RUN=$QUANTX_RUN/influxdb2
INFLUX2_LOG=$INFLUX2_RUN/influxd.log
INFLUX2_PID=$INFLUX2_RUN/influxd.pid
INFLUX2_URL=http://127.0.0.1:$INFLUX2_PORT
INFLUX2_ORG=quantx

influxdb2_install() {
	local build=$QUANTX_DIST/influxdb2-$INFLUX2_VERSION dir date
	# A binary built before the version was stamped as the release does ("2.7.12") is rebuilt: only
	# the link step runs again, the compiled packages and libflux come from the caches.
	if [ -x "$QUANTX_BIN/influxd2" ] && "$QUANTX_BIN/influxd2" version 2>/dev/null | grep -q "^InfluxDB v$INFLUX2_VERSION "; then
		return 0
	fi
	# rustup installs into ~/.cargo/bin, which non-login shells (cron, CI) often lack on PATH.
	if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
		PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
	fi
	if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
		PATH=$HOME/.cargo/bin:$PATH
	fi
	command -v cargo >/dev/null 2>&1 || die "influxdb2: cargo (Rust) is needed to build libflux; install rustup's stable toolchain"
	command -v go >/dev/null 2>&1 || die "influxdb2: go not found"
	need_cmd pkg-config pkg-config
	mkdir -p "$build"
	if [ ! -d "$build/src" ]; then
		dir=$(go mod download -json "github.com/influxdata/influxdb/v2@v$INFLUX2_VERSION" | awk -F'"' '/"Dir"/ { print $4 }')
		[ -d "$dir" ] || die "influxdb2: go mod download of influxdb v$INFLUX2_VERSION failed"
		cp -r "$dir" "$build/src.tmp" && chmod -R u+w "$build/src.tmp" && mv "$build/src.tmp" "$build/src"
	fi
	if [ ! -d "$build/flux" ]; then
		dir=$(go mod download -json "github.com/influxdata/flux@v$INFLUX2_FLUX_VERSION" | awk -F'"' '/"Dir"/ { print $4 }')
		[ -d "$dir" ] || die "influxdb2: go mod download of flux v$INFLUX2_FLUX_VERSION failed"
		cp -r "$dir" "$build/flux.tmp" && chmod -R u+w "$build/flux.tmp"
		sed -i 's/^default = \["strict"\]/default = []/' "$build/flux.tmp/libflux/flux-core/Cargo.toml"
		sed -i 's/^default = \["strict", "cffi"\]/default = ["cffi"]/' "$build/flux.tmp/libflux/flux/Cargo.toml"
		mv "$build/flux.tmp" "$build/flux"
	fi
	# The release's tag time (the module proxy's .info), stamped as the build date.
	date=$(go mod download -json "github.com/influxdata/influxdb/v2@v$INFLUX2_VERSION" | awk -F'"' '/"Time"/ { print $4 }')
	log "influxdb2: building influxd $INFLUX2_VERSION with libflux (cargo); this takes several minutes"
	(
		cd "$build/src" &&
			go mod edit -replace "github.com/influxdata/flux=../flux" &&
			GOFLAGS=-mod=mod go build -o "$build/pkg-config" github.com/influxdata/pkg-config &&
			PKG_CONFIG=$build/pkg-config RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-stable} GOFLAGS=-mod=mod \
				go build -tags 'sqlite_foreign_keys,sqlite_json' \
				-ldflags "-s -w -X main.version=v$INFLUX2_VERSION -X main.commit=v$INFLUX2_VERSION -X main.date=$date" \
				-o "$QUANTX_BIN/influxd2" ./cmd/influxd
	) </dev/null >"$build/build.log" 2>&1 || {
		tail -n 30 "$build/build.log" >&2
		die "influxdb2: build failed (full log: $build/build.log)"
	}
}

influxdb2_running() { pid_alive "$INFLUX2_PID" && http_ok "$INFLUX2_URL/health"; }

influxdb2_start() {
	if influxdb2_running; then
		log "influxdb2: already running on $INFLUX2_URL"
		return 0
	fi
	mkdir -p "$INFLUX2_RUN"
	rm -f "$INFLUX2_PID"
	nohup "$QUANTX_BIN/influxd2" --http-bind-address "127.0.0.1:$INFLUX2_PORT" --reporting-disabled \
		--bolt-path "$INFLUX2_RUN/influxd.bolt" --engine-path "$INFLUX2_RUN/engine" \
		--sqlite-path "$INFLUX2_RUN/influxd.sqlite" --log-level warn </dev/null >>"$INFLUX2_LOG" 2>&1 &
	echo $! >"$INFLUX2_PID"
	wait_ready influxdb2 "$INFLUX2_LOG" "$INFLUX2_PID" http_ok "$INFLUX2_URL/health" || return 1
	# First start: create the admin user, org, bucket and the all-access token.
	if curl -fsS -m 5 "$INFLUX2_URL/api/v2/setup" | grep -q '"allowed": *true'; then
		curl -fsS -m 10 -o /dev/null -H 'Content-Type: application/json' -X POST "$INFLUX2_URL/api/v2/setup" \
			-d "{\"username\":\"admin\",\"password\":\"$(secret influxdb2-password)\",\"org\":\"$INFLUX2_ORG\",\"bucket\":\"quantx-test\",\"token\":\"$(secret influxdb2-token)\"}" ||
			die "influxdb2: setup failed"
	fi
}

influxdb2_stop() { stop_pidfile influxdb2 "$INFLUX2_PID"; }

influxdb2_address() { echo "$INFLUX2_URL"; }

influxdb2_env() {
	echo "export QUANTX_TEST_INFLUX2_URL=$INFLUX2_URL"
	echo "export QUANTX_TEST_INFLUX2_TOKEN=$(secret influxdb2-token)"
	echo "export QUANTX_TEST_INFLUX2_ORG=$INFLUX2_ORG"
}

influxdb2_version() {
	curl -fsS -m 5 "$INFLUX2_URL/health" | grep -o '"version": *"[^"]*"' | cut -d'"' -f4 | sed 's/^/InfluxDB /'
}
