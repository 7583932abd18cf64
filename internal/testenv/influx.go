package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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
}

// Influx returns the InfluxDB test server and a fresh database name for t.
func Influx(t testing.TB) *InfluxDB {
	t.Helper()
	v := require(t, "influxdb", "QUANTX_TEST_INFLUX_URL", "QUANTX_TEST_INFLUX_TOKEN", "QUANTX_TEST_INFLUX_RPC")
	db := &InfluxDB{URL: strings.TrimRight(v[0], "/"), Token: v[1], RPC: v[2], Database: uniqueName(t, "t_", "_", 63)}
	if err := httpProbe(context.Background(), db.URL+"/ping"); err != nil {
		unavailable(t, "influxdb", err)
	}
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

// Query runs one InfluxQL statement with POST /query as the admin user. InfluxDB reports statement
// errors with HTTP 200 and {"results":[{"error":...}]}; Query returns them as errors.
func (db *InfluxDB) Query(ctx context.Context, influxQL string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/query",
		strings.NewReader(url.Values{"q": {influxQL}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	user, pass, _ := strings.Cut(db.Token, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("influxql %q: %s: %s", influxQL, resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("influxql %q: decoding the reply: %w", influxQL, err)
	}
	if out.Error != "" {
		return fmt.Errorf("influxql %q: %s", influxQL, out.Error)
	}
	for _, r := range out.Results {
		if r.Error != "" {
			return fmt.Errorf("influxql %q: %s", influxQL, r.Error)
		}
	}
	return nil
}
