# shellcheck shell=bash
# S3: versitygw v1.8.0 (Apache-2.0) built with `go install`, posix backend with a versioning dir.
# Runs as root. The test bucket is created with curl's built-in AWS SigV4 signing.

S3_VERSION=1.8.0
S3_PORT=${QUANTX_S3_PORT:-59000}
S3_RUN=$QUANTX_RUN/s3
S3_LOG=$S3_RUN/versitygw.log
S3_PID=$S3_RUN/versitygw.pid
S3_URL=http://127.0.0.1:$S3_PORT
S3_ACCESS_KEY=quantxtest
S3_BUCKET=${QUANTX_S3_TEST_BUCKET:-quantx-test}

s3_install() {
	if [ -x "$QUANTX_BIN/versitygw" ] && "$QUANTX_BIN/versitygw" --version 2>/dev/null | grep -q "v$S3_VERSION"; then
		return 0
	fi
	go_install -ldflags "-X=main.Version=v$S3_VERSION -X=main.Build=v$S3_VERSION -X=main.BuildTime=release" \
		"github.com/versity/versitygw/cmd/versitygw@v$S3_VERSION"
}

s3_secret() { secret s3-root; }

s3_running() {
	pid_alive "$S3_PID" && http_ok "$S3_URL/health"
}

s3_start() {
	if s3_running; then
		log "s3: already running on $S3_URL"
	else
		mkdir -p "$S3_RUN/data" "$S3_RUN/versions"
		rm -f "$S3_PID"
		ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$(s3_secret) nohup "$QUANTX_BIN/versitygw" \
			--port "127.0.0.1:$S3_PORT" --health /health --quiet \
			posix --versioning-dir "$S3_RUN/versions" "$S3_RUN/data" </dev/null >>"$S3_LOG" 2>&1 &
		echo $! >"$S3_PID"
		wait_ready s3 "$S3_LOG" "$S3_PID" http_ok "$S3_URL/health" || return 1
	fi
	s3_ensure_bucket
}

# s3_curl METHOD PATH [CURL_ARGS...]: a SigV4-signed request (curl >= 7.75 signs with --aws-sigv4).
s3_curl() {
	local method=$1 path=$2
	shift 2
	curl -sS -m 10 -X "$method" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$(s3_secret)" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "$S3_URL$path"
}

s3_ensure_bucket() {
	local code
	code=$(s3_curl HEAD "/$S3_BUCKET" -o /dev/null -w '%{http_code}' -I) || true
	[ "$code" = 200 ] && return 0
	code=$(s3_curl PUT "/$S3_BUCKET" -o "$S3_RUN/mkbucket.out" -w '%{http_code}') || true
	[ "$code" = 200 ] || die "s3: creating bucket $S3_BUCKET failed (HTTP $code): $(cat "$S3_RUN/mkbucket.out")"
	log "s3: created bucket $S3_BUCKET"
}

s3_stop() { stop_pidfile s3 "$S3_PID"; }

s3_address() { echo "$S3_URL (bucket $S3_BUCKET)"; }

s3_env() {
	echo "export QUANTX_TEST_S3_ENDPOINT=127.0.0.1:$S3_PORT"
	echo "export QUANTX_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY"
	echo "export QUANTX_TEST_S3_SECRET_KEY=$(s3_secret)"
	echo "export QUANTX_TEST_S3_BUCKET=$S3_BUCKET"
}

s3_version() {
	echo "versitygw $("$QUANTX_BIN/versitygw" --version 2>/dev/null | awk '/^Version/ { print $3 }')"
}
