# shellcheck shell=bash
# Elasticsearch 8.19.21 from Maven Central's integ-test zip (org.elasticsearch.distribution.integ-test-zip):
# server core + x-pack-core + x-pack-security (disabled here) + transport-netty4 + apm. Elastic publishes no
# 8.x jars of its other modules (reindex, analysis-common, lang-painless, ILM), so none can be added: see
# docs/test-services.md for what this server lacks.

# shellcheck source=search-common.sh
source "$SERVICES_DIR/services.d/search-common.sh"

ES_VERSION=${QUANTX_ELASTICSEARCH_VERSION:-8.19.21}
ES_HTTP_PORT=${QUANTX_ELASTICSEARCH_PORT:-59201}
ES_TRANSPORT_PORT=${QUANTX_ELASTICSEARCH_TRANSPORT_PORT:-59301}
ES_RUN=$QUANTX_RUN/elasticsearch
ES_HOME=$ES_RUN/home
ES_PID=$ES_RUN/elasticsearch.pid
ES_LOG=$ES_RUN/launcher.log
ES_URL=http://127.0.0.1:$ES_HTTP_PORT

elasticsearch_install() {
	local zip=$QUANTX_DIST/elasticsearch-$ES_VERSION.zip
	search_java
	ensure_svc_user
	[ -s "$zip" ] || mvn_fetch "org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" "$QUANTX_DIST"
	mkdir -p "$ES_RUN"
	if [ ! -f "$ES_HOME/.quantx-installed-$ES_VERSION" ]; then
		search_unpack "$zip" "$ES_HOME" ".quantx-installed-$ES_VERSION"
		touch "$ES_HOME/.quantx-installed-$ES_VERSION"
	fi
	chown -R "$QUANTX_SVC_USER:" "$ES_RUN"
}

elasticsearch_running() { search_running elasticsearch "$ES_URL" "$ES_PID"; }

elasticsearch_start() {
	if elasticsearch_running; then
		log "elasticsearch: already running on $ES_URL"
		return 0
	fi
	mkdir -p "$ES_RUN/data" "$ES_RUN/logs"
	cat >"$ES_HOME/config/elasticsearch.yml" <<YML
cluster.name: quantx-test
node.name: quantx-elasticsearch
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_HTTP_PORT
transport.port: $ES_TRANSPORT_PORT
path.data: $ES_RUN/data
path.logs: $ES_RUN/logs
cluster.routing.allocation.disk.threshold_enabled: false
xpack.security.enabled: false
action.auto_create_index: true
YML
	printf -- '-Xms512m\n-Xmx512m\n' >"$ES_HOME/config/jvm.options.d/heap.options"
	chown -R "$QUANTX_SVC_USER:" "$ES_RUN"
	search_launch elasticsearch "$ES_HOME" "$ES_PID" "$ES_LOG" "$ES_URL" \
		env ES_JAVA_HOME="$SEARCH_JAVA_HOME" ES_PATH_CONF="$ES_HOME/config" \
		"$ES_HOME/bin/elasticsearch" -d -p "$ES_PID" || {
		log "elasticsearch: server log tail ($ES_RUN/logs/quantx-test.log):"
		tail -n 30 "$ES_RUN/logs/quantx-test.log" >&2 2>/dev/null || true
		return 1
	}
}

elasticsearch_stop() { stop_pidfile elasticsearch "$ES_PID" 60; }

elasticsearch_address() { echo "$ES_URL (transport 127.0.0.1:$ES_TRANSPORT_PORT)"; }

elasticsearch_env() { echo "export QUANTX_TEST_ELASTICSEARCH_URL=$ES_URL"; }

elasticsearch_version() { echo "Elasticsearch $(search_version "$ES_URL")"; }
