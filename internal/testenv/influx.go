package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// InfluxDB is the InfluxDB 1.8 test server and a database name owned by one test. The database is NOT
// created (the code under test creates it); it is dropped when the test ends, unless the test failed.
type InfluxDB struct {
	// URL is the HTTP API, e.g. http://127.0.0.1:58086.
	URL string
	// Token is "user:password" of an admin user (the InfluxDB 1.8 form of a v2 API token).
	Token string
	// RPC is the backup/restore address for `influxd backup -host` and `influxd restore -host`.
	RPC string
	// Database is a fresh, unique database name.
	Database string
	// Client is quantx-db's own InfluxDB client, logged in as the admin user.
	Client *influxclient.Client
}

// Influx returns the InfluxDB test server and a fresh database name for t.
func Influx(t testing.TB) *InfluxDB {
	t.Helper()
	v := require(t, "influxdb", "QUANTX_TEST_INFLUX_URL", "QUANTX_TEST_INFLUX_TOKEN", "QUANTX_TEST_INFLUX_RPC")
	db := &InfluxDB{URL: strings.TrimRight(v[0], "/"), Token: v[1], RPC: v[2], Database: uniqueName(t, "t_", "_", 63)}
	db.Client = influxClient(t, "influxdb", db.URL, db.Token, 1)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: kept InfluxDB database %s of the failed test on %s", db.Database, db.URL)
			return
		}
		if err := db.Query(context.Background(), `DROP DATABASE "`+db.Database+`"`); err != nil {
			t.Errorf("testenv: dropping InfluxDB database %s: %v", db.Database, err)
		}
	})
	return db
}

// Query runs one InfluxQL statement as the admin user. InfluxDB reports statement errors with HTTP 200
// and {"results":[{"error":...}]}; Query returns them as errors.
func (db *InfluxDB) Query(ctx context.Context, influxQL string) error {
	_, err := db.Client.Query(ctx, influxclient.Query{Statement: influxQL})
	return err
}

// influxClient returns a client of the server at url, after checking within probeTimeout that it
// answers and is of the major version the tests expect (else the test ends through unavailable).
func influxClient(t testing.TB, service, url, token string, major uint64) *influxclient.Client {
	t.Helper()
	c, err := influxclient.New(influxclient.Options{URL: url, Token: token})
	if err != nil {
		unavailable(t, service, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), probeTimeout)
	defer cancel()
	srv, err := c.Server(ctx)
	if err == nil && srv.Version.Major != major {
		t.Fatalf("testenv: %s at %s reports InfluxDB %s, want %d.x", service, url, srv.Version, major)
	}
	if err != nil {
		unavailable(t, service, err)
	}
	return c
}
