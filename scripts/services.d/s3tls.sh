# shellcheck shell=bash
# S3 over TLS: a second versitygw (the binary of s3.sh) with its own port, data and a self-signed
# certificate, for pgBackRest (which speaks S3 over TLS only) and for the tool's --s3-ca-file. The plain
# HTTP server of s3.sh keeps running unchanged beside it. pgBackRest 2.45 does not match IP addresses
# in a certificate, so 127.0.0.1 is in subjectAltName as a DNS name as well as an IP.

S3TLS_PORT=${QUANTX_S3_TLS_PORT:-59443}
S3TLS_RUN=$QUANTX_RUN/s3tls
S3TLS_LOG=$S3TLS_RUN/versitygw.log
S3TLS_PID=$S3TLS_RUN/versitygw.pid
S3TLS_CERT=$S3TLS_RUN/tls/cert.pem
S3TLS_KEY=$S3TLS_RUN/tls/key.pem
S3TLS_URL=https://127.0.0.1:$S3TLS_PORT
S3TLS_ACCESS_KEY=quantxtls
S3TLS_BUCKET=${QUANTX_S3_TLS_TEST_BUCKET:-quantx-test-tls}

s3tls_install() {
	s3_install
	need_cmd openssl openssl
	# pgBackRest runs as the data directory's owner (postgres) and reads the CA file of --s3-ca-file.
	command -v pgbackrest >/dev/null 2>&1 || apt_install pgbackrest
}

s3tls_secret() { secret s3tls-root; }

s3tls_running() {
	pid_alive "$S3TLS_PID" && http_ok "$S3TLS_URL/health" --cacert "$S3TLS_CERT"
}

# s3tls_cert: a self-signed certificate for 127.0.0.1 and localhost, valid for 10 years; kept across
# restarts so that a CA file handed to a running test stays valid.
s3tls_cert() {
	[ -s "$S3TLS_CERT" ] && [ -s "$S3TLS_KEY" ] && return 0
	mkdir -p "$S3TLS_RUN/tls"
	chmod 755 "$S3TLS_RUN" "$S3TLS_RUN/tls"
	openssl req -x509 -newkey rsa:2048 -sha256 -days 3650 -nodes -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1,DNS:localhost" \
		-keyout "$S3TLS_KEY" -out "$S3TLS_CERT" >"$S3TLS_RUN/openssl.log" 2>&1 ||
		die "s3tls: openssl req failed: $(cat "$S3TLS_RUN/openssl.log")"
	chmod 600 "$S3TLS_KEY"
	chmod 644 "$S3TLS_CERT"
}

s3tls_start() {
	if s3tls_running; then
		log "s3tls: already running on $S3TLS_URL"
	else
		mkdir -p "$S3TLS_RUN/data" "$S3TLS_RUN/versions"
		chmod 755 "$S3TLS_RUN"
		s3tls_cert
		rm -f "$S3TLS_PID"
		ROOT_ACCESS_KEY=$S3TLS_ACCESS_KEY ROOT_SECRET_KEY=$(s3tls_secret) nohup "$QUANTX_BIN/versitygw" \
			--port "127.0.0.1:$S3TLS_PORT" --cert "$S3TLS_CERT" --key "$S3TLS_KEY" --health /health --quiet \
			posix --versioning-dir "$S3TLS_RUN/versions" "$S3TLS_RUN/data" </dev/null >>"$S3TLS_LOG" 2>&1 &
		echo $! >"$S3TLS_PID"
		wait_ready s3tls "$S3TLS_LOG" "$S3TLS_PID" http_ok "$S3TLS_URL/health" --cacert "$S3TLS_CERT" || return 1
	fi
	s3tls_ensure_bucket
}

s3tls_curl() {
	local method=$1 path=$2
	shift 2
	curl -sS -m 10 -X "$method" --cacert "$S3TLS_CERT" --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3TLS_ACCESS_KEY:$(s3tls_secret)" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "$S3TLS_URL$path"
}

s3tls_ensure_bucket() {
	local code
	code=$(s3tls_curl HEAD "/$S3TLS_BUCKET" -o /dev/null -w '%{http_code}' -I) || true
	[ "$code" = 200 ] && return 0
	code=$(s3tls_curl PUT "/$S3TLS_BUCKET" -o "$S3TLS_RUN/mkbucket.out" -w '%{http_code}') || true
	[ "$code" = 200 ] || die "s3tls: creating bucket $S3TLS_BUCKET failed (HTTP $code): $(cat "$S3TLS_RUN/mkbucket.out")"
	log "s3tls: created bucket $S3TLS_BUCKET"
}

s3tls_stop() { stop_pidfile s3tls "$S3TLS_PID"; }

s3tls_address() { echo "$S3TLS_URL (bucket $S3TLS_BUCKET, CA $S3TLS_CERT)"; }

s3tls_env() {
	echo "export QUANTX_TEST_S3_TLS_ENDPOINT=127.0.0.1:$S3TLS_PORT"
	echo "export QUANTX_TEST_S3_CA_FILE=$S3TLS_CERT"
	echo "export QUANTX_TEST_S3_TLS_ACCESS_KEY=$S3TLS_ACCESS_KEY"
	echo "export QUANTX_TEST_S3_TLS_SECRET_KEY=$(s3tls_secret)"
	echo "export QUANTX_TEST_S3_TLS_BUCKET=$S3TLS_BUCKET"
}

s3tls_version() {
	echo "versitygw $("$QUANTX_BIN/versitygw" --version 2>/dev/null | awk '/^Version/ { print $3 }') (TLS)"
}
