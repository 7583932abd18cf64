# shellcheck shell=bash
# Shared code for OpenSearch and Elasticsearch: both come from Maven Central as "integ-test" distributions
# (real servers with a reduced module set), are unpacked into the run dir owned by quantx-svc (they refuse
# root) and run on Java 17 with a 512 MiB heap, bound to 127.0.0.1, single-node.

SEARCH_JAVA_HOME=${QUANTX_SEARCH_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

# search_java: Java 17 is required (OpenSearch 2.x needs the SecurityManager, gone in newer JDKs).
search_java() {
	[ -x "$SEARCH_JAVA_HOME/bin/java" ] || apt_install openjdk-17-jre-headless
	[ -x "$SEARCH_JAVA_HOME/bin/java" ] || die "no Java 17 at $SEARCH_JAVA_HOME"
}

# search_unpack ZIP HOME MARKER: unpack a distribution zip into HOME (replacing it) unless HOME/MARKER exists.
search_unpack() {
	local zip=$1 home=$2 marker=$3 tmp
	[ -f "$home/$marker" ] && return 0
	need_cmd unzip unzip
	tmp=$(mktemp -d "$(dirname "$home")/.unpack.XXXXXX")
	unzip -q "$zip" -d "$tmp" || die "unzip $zip failed"
	rm -rf "$home"
	# The zip holds one top folder (opensearch-X or elasticsearch-X).
	mv "$tmp"/*/ "$home"
	rmdir "$tmp"
}

# search_running NAME URL PIDFILE
search_running() {
	pid_alive "$3" && http_ok "$2/_cluster/health"
}

# search_launch NAME HOME PIDFILE LOG URL CMD...: start CMD as quantx-svc (it daemonizes with -d -p),
# then wait for yellow health.
search_launch() {
	local name=$1 home=$2 pidfile=$3 logfile=$4 url=$5
	shift 5
	rm -f "$pidfile"
	# -d detaches; the launcher's stdout/stderr (startup errors before logging is set up) go to LOG.
	runuser -u "$QUANTX_SVC_USER" -- "$@" </dev/null >>"$logfile" 2>&1 || {
		log "$name: launcher failed; last lines of $logfile:"
		tail -n 40 "$logfile" >&2
		return 1
	}
	wait_ready "$name" "$logfile" "$pidfile" http_ok "$url/_cluster/health?wait_for_status=yellow&timeout=1s"
}

search_version() {
	# GET / is missing from the integ-test distributions; the nodes info API has the version.
	curl -fsS -m 5 "$1/_nodes/_local/version?filter_path=nodes.*.version" | grep -o '"version":"[^"]*"' |
		head -n1 | cut -d'"' -f4
}
