# shellcheck shell=bash
# Helpers shared by the scripts/services.d/<name>.sh files. Sourced by scripts/services.

log() { printf '[services] %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# elapsed T0: seconds since T0 (from date +%s.%N), one decimal.
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

APT_UPDATED=
# apt_install PKG...: install Debian packages, running apt-get update once per invocation.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "$APT_UPDATED" ]; then
		log "apt-get update"
		apt-get update -qq </dev/null >&2 || die "apt-get update failed"
		APT_UPDATED=1
	fi
	log "apt-get install -y $*"
	apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2 || die "apt-get install $* failed"
}

# need_cmd CMD DEBIAN_PACKAGE: install the package when CMD is missing.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

# ensure_svc_user: the unprivileged system user that runs servers refusing root.
ensure_svc_user() {
	id "$QUANTX_SVC_USER" >/dev/null 2>&1 && return 0
	log "creating system user $QUANTX_SVC_USER"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group "$QUANTX_SVC_USER" || die "useradd $QUANTX_SVC_USER failed"
}

# go_install PKG@V... with GOBIN=$QUANTX_BIN; extra env (CGO_ENABLED, ...) comes from the caller.
go_install() {
	command -v go >/dev/null 2>&1 || die "go not found in PATH (Go 1.26 is needed to build the test servers)"
	mkdir -p "$QUANTX_BIN"
	log "go install $*"
	GOBIN=$QUANTX_BIN GOFLAGS=-mod=mod go install "$@" </dev/null >&2 || die "go install $* failed"
}

# mvn_fetch GROUP:ARTIFACT:VERSION:PACKAGING DEST_DIR: copy one artifact from Maven Central into DEST_DIR.
mvn_fetch() {
	local gav=$1 dest=$2
	need_cmd mvn maven
	mkdir -p "$dest"
	log "mvn dependency:copy $gav"
	mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$gav" -DoutputDirectory="$dest" -Dmdep.useBaseVersion=true \
		</dev/null >"$dest/.mvn.log" 2>&1 || {
		tail -n 30 "$dest/.mvn.log" >&2
		die "mvn dependency:copy $gav failed"
	}
}

# pid_alive PIDFILE: true when the pid file names a live process.
pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(head -n1 "$1" | tr -dc 0-9)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile NAME PIDFILE [TIMEOUT]: TERM the process in PIDFILE, wait, then KILL; remove the pid file.
stop_pidfile() {
	local name=$1 pidfile=$2 timeout=${3:-30} pid i
	if ! pid_alive "$pidfile"; then
		rm -f "$pidfile"
		log "$name: not running"
		return 0
	fi
	pid=$(head -n1 "$pidfile" | tr -dc 0-9)
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name: still running after ${timeout}s, sending KILL to $pid"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	log "$name: stopped"
}

# wait_ready NAME LOGFILE PIDFILE CMD...: poll CMD every 0.2 s until it succeeds, for at most
# QUANTX_WAIT_SECONDS; fail early if the process died. On failure print the log tail.
wait_ready() {
	local name=$1 logfile=$2 pidfile=$3 deadline
	shift 3
	deadline=$(($(date +%s) + QUANTX_WAIT_SECONDS))
	while ! "$@" >/dev/null 2>&1; do
		# A daemonizing server writes its pid file some time after its launcher returns.
		if [ -n "$pidfile" ] && [ -e "$pidfile" ] && ! pid_alive "$pidfile"; then
			log "$name: the server exited while starting; last lines of $logfile:"
			tail -n 40 "$logfile" >&2 2>/dev/null || true
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log "$name: not ready after ${QUANTX_WAIT_SECONDS}s; last lines of $logfile:"
			tail -n 40 "$logfile" >&2 2>/dev/null || true
			return 1
		fi
		sleep 0.2
	done
}

# http_ok URL [CURL_ARGS...]: true when URL answers 2xx within 5 s.
http_ok() {
	local url=$1
	shift
	curl -fs -m 5 -o /dev/null "$@" "$url"
}

# secret NAME: a random secret kept in $QUANTX_RUN/secrets/NAME, next to the data it protects (so a
# wiped cache cannot leave a server with a password nobody knows), stable across runs.
secret() {
	local f=$QUANTX_RUN/secrets/$1
	if [ ! -s "$f" ]; then
		mkdir -p "$QUANTX_RUN/secrets"
		chmod 700 "$QUANTX_RUN/secrets"
		(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
	fi
	cat "$f"
}
