package testenv

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// InfluxDB2 is the InfluxDB 2.x test server (`scripts/services up influxdb2`) and a database name
// owned by one test. Nothing is created: the code under test makes the buckets, DBRP mappings and
// tasks, named after Database. When the test ends (unless it failed) every bucket, DBRP mapping and
// task of the organization whose name starts with Database is deleted, restored copies included.
type InfluxDB2 struct {
	// URL is the HTTP API, e.g. http://127.0.0.1:58087.
	URL string
	// Token is an all-access operator token.
	Token string
	// Org is the organization the server was set up with.
	Org string
	// Database is a fresh, unique name for the test's buckets.
	Database string
	// Client is quantx-db's own InfluxDB client, with the operator token.
	Client *influxclient.Client
}

// Influx2 returns the InfluxDB 2.x test server and a fresh database name for t. Under CI a missing or
// silent server fails the test, as for every other server.
func Influx2(t testing.TB) *InfluxDB2 {
	t.Helper()
	v := require(t, "influxdb2", "QUANTX_TEST_INFLUX2_URL", "QUANTX_TEST_INFLUX2_TOKEN", "QUANTX_TEST_INFLUX2_ORG")
	s := &InfluxDB2{URL: strings.TrimRight(v[0], "/"), Token: v[1], Org: v[2], Database: uniqueName(t, "t2_", "_", 63)}
	s.Client = influxClient(t, "influxdb2", s.URL, s.Token, 2)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: kept the InfluxDB 2.x buckets and tasks %s* of the failed test on %s", s.Database, s.URL)
			return
		}
		if err := s.drop(context.Background()); err != nil { // t.Context() is done by now
			t.Errorf("testenv: removing the InfluxDB 2.x objects %s*: %v", s.Database, err)
		}
	})
	return s
}

// OrgID returns the ID of the test organization.
func (s *InfluxDB2) OrgID(ctx context.Context) (string, error) {
	var out struct {
		Orgs []struct{ ID, Name string } `json:"orgs"`
	}
	if err := s.get(ctx, "/api/v2/orgs", url.Values{"org": {s.Org}}, &out); err != nil || len(out.Orgs) == 0 {
		return "", err
	}
	return out.Orgs[0].ID, nil
}

// drop deletes the tasks, DBRP mappings and buckets named after Database.
func (s *InfluxDB2) drop(ctx context.Context) error {
	orgID, err := s.OrgID(ctx)
	if err != nil {
		return err
	}
	type item struct{ ID, Name string }
	tasks, err := influxclient.List[item](ctx, s.Client, "/api/v2/tasks", "tasks", url.Values{"orgID": {orgID}})
	if err != nil {
		return err
	}
	buckets, err := influxclient.List[item](ctx, s.Client, "/api/v2/buckets", "buckets", url.Values{"orgID": {orgID}})
	if err != nil {
		return err
	}
	var dbrps struct {
		Content []struct {
			ID       string `json:"id"`
			Database string `json:"database"`
			Virtual  bool   `json:"virtual"`
		} `json:"content"`
	}
	if err := s.get(ctx, "/api/v2/dbrps", url.Values{"orgID": {orgID}}, &dbrps); err != nil {
		return err
	}
	var paths []string
	for _, x := range tasks {
		if strings.HasPrefix(x.Name, s.Database) {
			paths = append(paths, "/api/v2/tasks/"+x.ID)
		}
	}
	for _, x := range dbrps.Content {
		if !x.Virtual && strings.HasPrefix(x.Database, s.Database) {
			paths = append(paths, "/api/v2/dbrps/"+x.ID+"?orgID="+orgID)
		}
	}
	for _, x := range buckets {
		if strings.HasPrefix(x.Name, s.Database) {
			paths = append(paths, "/api/v2/buckets/"+x.ID)
		}
	}
	for _, p := range paths {
		path, query, _ := strings.Cut(p, "?")
		q, _ := url.ParseQuery(query)
		resp, err := s.Client.Do(ctx, influxclient.Request{Method: http.MethodDelete, Path: path, Query: q, Retry: true})
		if err != nil && !influxclient.IsNotFound(err) {
			return err
		}
		if err == nil {
			resp.Body.Close()
		}
	}
	return nil
}

func (s *InfluxDB2) get(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := s.Client.Do(ctx, influxclient.Request{Method: http.MethodGet, Path: path, Query: q, Retry: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
