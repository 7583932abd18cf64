// Package testenv gives tests real servers to run against: a fresh PostgreSQL database, InfluxDB 1.8
// database name, S3 bucket or search-index prefix per test, each removed when the test ends (and kept,
// with its address logged, when the test failed, so a developer can look at what it left).
//
// It is test support, imported only by _test.go files and never linked into the quantx-db binary
// (go list -deps ./cmd/quantx-db does not name it). Its cleanups use context.Background(): a test's
// own context is done by the time they run.
//
// The servers themselves are started outside the tests by scripts/services, which writes their
// addresses to an env file:
//
//	scripts/services up            # postgres, influxdb, s3, opensearch, elasticsearch
//	go test ./...                  # testenv reads $QUANTX_CACHE/services.env by itself
//
// Each helper reads its QUANTX_TEST_* variable from the environment and, when it is not set there, from
// $QUANTX_CACHE/services.env (QUANTX_CACHE defaults to $HOME/.cache/quantx-db), so tests work without
// sourcing that file. When a server is not configured or does not answer within 5 seconds, the test is
// skipped with the command that starts it; when CI is set to anything but empty or "false" (CI=1,
// CI=yes, CI=true) it fails instead, so a missing install step cannot hide in a green run. Tests never
// decide this for themselves: they call these helpers, or InCI.
//
// A test that needs the QuantX schema, rather than one that tests migrating, calls MigratedPostgres: a
// CREATE DATABASE ... TEMPLATE copy of a template migrated once per schema (named after a hash of the
// migration files and the engine's source, so branches and packages never share a stale one).
//
// Tests that kill, restart or reconfigure a server get a private one, never the shared one that other
// tests use at the same time: NewCluster (a PostgreSQL 15 cluster with its own data directory and port,
// with Kill, Stop, Start and Restart) and NewS3Server (a versitygw process with Kill and Start;
// NewS3ServerTLS serves TLS with a certificate made for the test). Tests that restore an InfluxDB
// backup do too: NewInflux and NewInflux2 (influxd 1.8 and influxd2 with their own ports and data), as
// InfluxDB imports a restore's metadata without a lock and loses shard groups other tests' writes
// create in the same moment. Tool finds the executables
// scripts/services installs (influxd, versitygw, initdb, pgbackrest, ...) the same way. S3TLS is a fresh
// bucket on the shared S3 server that speaks TLS (scripts/services up s3tls), for pgBackRest.
//
// Variables: QUANTX_TEST_DATABASE_URL (a PostgreSQL superuser URL), QUANTX_TEST_INFLUX_URL,
// QUANTX_TEST_INFLUX_TOKEN ("user:password"), QUANTX_TEST_INFLUX_RPC, QUANTX_TEST_S3_ENDPOINT,
// QUANTX_TEST_S3_ACCESS_KEY, QUANTX_TEST_S3_SECRET_KEY, QUANTX_TEST_S3_BUCKET,
// QUANTX_TEST_OPENSEARCH_URL, QUANTX_TEST_ELASTICSEARCH_URL, QUANTX_TEST_PUSHGATEWAY_URL, QUANTX_TEST_S3_TLS_ENDPOINT,
// QUANTX_TEST_S3_CA_FILE, QUANTX_TEST_S3_TLS_ACCESS_KEY, QUANTX_TEST_S3_TLS_SECRET_KEY; for InfluxDB 2.7 (Influx2)
// QUANTX_TEST_INFLUX2_URL, QUANTX_TEST_INFLUX2_TOKEN and QUANTX_TEST_INFLUX2_ORG. The InfluxDB helpers
// hand out quantx-db's own client (internal/influxclient) and check the server's major version; Influx2
// removes every bucket, DBRP mapping and task named after the test's database when the test ends.
//
// Developers with a Docker engine can start the same servers in containers
// instead of installing them; the CLI writes the same env file:
//
//	go run ./cmd/quantx-db testenv up --provider docker --provision=false
//
// When QUANTX_TEST_PROVIDER=docker is set, the skip and failure messages name that command instead of
// scripts/services.
package testenv
