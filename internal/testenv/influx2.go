package testenv

import (
	"context"
	"strings"
	"testing"
)

// InfluxDB2 is the InfluxDB 2.x test server (`scripts/services up influxdb2`) and a database name
// owned by one test. Nothing is created: the code under test makes the buckets, DBRP mappings and
// tasks, named after Database, and the test removes them (testenv does not import the 2.x client).
type InfluxDB2 struct {
	// URL is the HTTP API, e.g. http://127.0.0.1:58087.
	URL string
	// Token is an all-access operator token.
	Token string
	// Org is the organization the server was set up with.
	Org string
	// Database is a fresh, unique name for the test's buckets.
	Database string
}

// Influx2 returns the InfluxDB 2.x test server and a fresh database name for t. Under CI=true a
// missing or silent server fails the test, as for every other server.
func Influx2(t testing.TB) *InfluxDB2 {
	t.Helper()
	v := require(t, "influxdb2", "QUANTX_TEST_INFLUX2_URL", "QUANTX_TEST_INFLUX2_TOKEN", "QUANTX_TEST_INFLUX2_ORG")
	s := &InfluxDB2{URL: strings.TrimRight(v[0], "/"), Token: v[1], Org: v[2], Database: uniqueName(t, "t2_", "_", 63)}
	if err := httpProbe(context.Background(), s.URL+"/health"); err != nil {
		unavailable(t, "influxdb2", err)
	}
	return s
}
