# shellcheck shell=bash
# OpenSearch 2.19.6 from Maven Central's integ-test zip (org.opensearch.distribution.integ-test-zip), plus
# modules the zip lacks, rebuilt from their Maven jars: reindex (_reindex, _update_by_query,
# _delete_by_query), analysis-common (edge_ngram, lowercase, ... filters), lang-painless (needed by
# analysis-common, and scripts), mapper-extras (search_as_you_type, scaled_float, rank_feature).
# ISM and job-scheduler are NOT on Maven Central (see docs/test-services.md).

# shellcheck source=search-common.sh
source "$SERVICES_DIR/services.d/search-common.sh"

OS_VERSION=${QUANTX_OPENSEARCH_VERSION:-2.19.6}
OS_HTTP_PORT=${QUANTX_OPENSEARCH_PORT:-59200}
OS_TRANSPORT_PORT=${QUANTX_OPENSEARCH_TRANSPORT_PORT:-59300}
OS_RUN=$QUANTX_RUN/opensearch
OS_HOME=$OS_RUN/home
OS_PID=$OS_RUN/opensearch.pid
OS_LOG=$OS_RUN/launcher.log
OS_URL=http://127.0.0.1:$OS_HTTP_PORT
# module folder name -> Maven artifact (group org.opensearch.plugin), main class, extended plugins.
OS_MODULES=(
	"lang-painless|lang-painless|org.opensearch.painless.PainlessPlugin|"
	"analysis-common|analysis-common|org.opensearch.analysis.common.CommonAnalysisPlugin|lang-painless"
	"reindex|reindex-client|org.opensearch.index.reindex.ReindexPlugin|"
	"mapper-extras|mapper-extras-client|org.opensearch.index.mapper.MapperExtrasPlugin|"
)

opensearch_install() {
	local zip=$QUANTX_DIST/opensearch-$OS_VERSION.zip spec
	search_java
	ensure_svc_user
	[ -s "$zip" ] || mvn_fetch "org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip" "$QUANTX_DIST"
	for spec in "${OS_MODULES[@]}"; do
		IFS='|' read -r _ artifact _ _ <<<"$spec"
		os_fetch_module "$artifact"
	done
	mkdir -p "$OS_RUN"
	if [ ! -f "$OS_HOME/.quantx-installed-$OS_VERSION" ]; then
		rm -f "$OS_HOME"/.quantx-installed-*
		search_unpack "$zip" "$OS_HOME" ".quantx-installed-$OS_VERSION"
		for spec in "${OS_MODULES[@]}"; do
			os_layout_module "$spec"
		done
		touch "$OS_HOME/.quantx-installed-$OS_VERSION"
	fi
	chown -R "$QUANTX_SVC_USER:" "$OS_RUN"
}

# os_fetch_module ARTIFACT: the module jar and its runtime dependencies into $QUANTX_DIST/opensearch-modules/.
os_fetch_module() {
	local artifact=$1 dir=$QUANTX_DIST/opensearch-modules/$1-$OS_VERSION
	[ -f "$dir/.done" ] && return 0
	need_cmd mvn maven
	rm -rf "$dir"
	mkdir -p "$dir/jars"
	cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>quantx</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
<dependencies><dependency><groupId>org.opensearch.plugin</groupId><artifactId>$artifact</artifactId>
<version>$OS_VERSION</version></dependency></dependencies></project>
POM
	log "mvn dependency:copy-dependencies org.opensearch.plugin:$artifact:$OS_VERSION"
	(cd "$dir" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=jars \
		</dev/null >mvn.log 2>&1) || {
		tail -n 30 "$dir/mvn.log" >&2
		die "opensearch: fetching org.opensearch.plugin:$artifact:$OS_VERSION failed"
	}
	touch "$dir/.done"
}

# os_layout_module SPEC: modules/<name>/ with the module jar, the dependencies that lib/ (or the module it
# extends) does not already have, a plugin-descriptor.properties and, where needed, a security policy.
os_layout_module() {
	local name artifact class extends dest jar base stem
	IFS='|' read -r name artifact class extends <<<"$1"
	dest=$OS_HOME/modules/$name
	mkdir -p "$dest"
	for jar in "$QUANTX_DIST/opensearch-modules/$artifact-$OS_VERSION/jars/"*.jar; do
		base=$(basename "$jar")
		stem=${base%-[0-9]*.jar} # artifact name without its version
		if compgen -G "$OS_HOME/lib/$stem-[0-9]*.jar" >/dev/null; then continue; fi
		if [ -n "$extends" ] && compgen -G "$OS_HOME/modules/$extends/$stem-[0-9]*.jar" >/dev/null; then continue; fi
		cp "$jar" "$dest/"
	done
	cat >"$dest/plugin-descriptor.properties" <<DESC
description=$name module (added by scripts/services from org.opensearch.plugin:$artifact:$OS_VERSION)
version=$OS_VERSION
name=$name
classname=$class
java.version=11
opensearch.version=$OS_VERSION
custom.foldername=
extended.plugins=$extends
has.native.controller=false
DESC
	case $name in
	lang-painless)
		# Painless compiles scripts into classes loaded by its own class loader.
		printf 'grant {\n  permission java.lang.RuntimePermission "createClassLoader";\n  permission java.lang.RuntimePermission "getClassLoader";\n};\n' >"$dest/plugin-security.policy"
		;;
	reindex)
		# Reindex from a remote cluster opens sockets through the REST client.
		printf 'grant {\n  permission java.net.SocketPermission "*", "connect";\n};\n' >"$dest/plugin-security.policy"
		;;
	esac
}

opensearch_running() { search_running opensearch "$OS_URL" "$OS_PID"; }

opensearch_start() {
	if opensearch_running; then
		log "opensearch: already running on $OS_URL"
		return 0
	fi
	mkdir -p "$OS_RUN/data" "$OS_RUN/logs"
	cat >"$OS_HOME/config/opensearch.yml" <<YML
cluster.name: quantx-test
node.name: quantx-opensearch
discovery.type: single-node
network.host: 127.0.0.1
http.port: $OS_HTTP_PORT
transport.port: $OS_TRANSPORT_PORT
path.data: $OS_RUN/data
path.logs: $OS_RUN/logs
cluster.routing.allocation.disk.threshold_enabled: false
action.auto_create_index: true
YML
	printf -- '-Xms512m\n-Xmx512m\n' >"$OS_HOME/config/jvm.options.d/heap.options"
	chown -R "$QUANTX_SVC_USER:" "$OS_RUN"
	search_launch opensearch "$OS_HOME" "$OS_PID" "$OS_LOG" "$OS_URL" \
		env OPENSEARCH_JAVA_HOME="$SEARCH_JAVA_HOME" OPENSEARCH_PATH_CONF="$OS_HOME/config" \
		"$OS_HOME/bin/opensearch" -d -p "$OS_PID" || {
		log "opensearch: server log tail ($OS_RUN/logs/quantx-test.log):"
		tail -n 30 "$OS_RUN/logs/quantx-test.log" >&2 2>/dev/null || true
		return 1
	}
}

opensearch_stop() { stop_pidfile opensearch "$OS_PID" 60; }

opensearch_address() { echo "$OS_URL (transport 127.0.0.1:$OS_TRANSPORT_PORT)"; }

opensearch_env() { echo "export QUANTX_TEST_OPENSEARCH_URL=$OS_URL"; }

opensearch_version() { echo "OpenSearch $(search_version "$OS_URL")"; }
