package backup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/domain"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/testenv"
)

// TestInflux2RoundTrip backs up the buckets of one database on a real InfluxDB 2.7 through its HTTP
// backup API and restores them under a new name: every tier comes back with its points, across
// several shard groups, and a bucket of another database is left out.
func TestInflux2RoundTrip(t *testing.T) {
	t.Parallel()
	s := testenv.Influx2(t)
	ctx := t.Context()
	client := influxdb2.NewClient(s.URL, s.Token)
	defer client.Close()
	org, err := client.OrganizationsAPI().FindOrganizationByName(ctx, s.Org)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		buckets, _ := client.BucketsAPI().FindBucketsByOrgName(context.Background(), s.Org)
		if buckets == nil {
			return
		}
		for _, b := range *buckets {
			if strings.HasPrefix(b.Name, s.Database) {
				client.BucketsAPI().DeleteBucket(context.Background(), &b)
			}
		}
	})
	// Shard groups of a bucket without retention span 7 days: 30 days of points make several shards.
	want := map[string]int{"/raw": 300, "/hourly": 120}
	for suffix, n := range want {
		writePoints(t, client, org, s.Database+suffix, n, 30*24*time.Hour)
	}
	writePoints(t, client, org, s.Database+"_other", 10, time.Hour)

	cat, _, _ := newCatalogue(t, backup.Options{})
	m, err := cat.BackupInflux(ctx, backup.InfluxBackup{Database: s.Database, URL: s.URL, Token: s.Token})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.ServerVersion, "2.") || !strings.Contains(m.Format, "2.x") || m.Size == 0 {
		t.Fatalf("manifest: %+v", m)
	}

	// Under its own name the buckets exist: refused, and nothing created.
	ro := backup.InfluxRestore{URL: s.URL, Token: s.Token}
	if _, err := cat.RestoreInflux(ctx, m.ID, ro); !errors.Is(err, backup.ErrDatabaseExists) {
		t.Fatalf("restore onto existing buckets: %v, want ErrDatabaseExists", err)
	}
	ro.NewDatabase = s.Database + "_r"
	res, err := cat.RestoreInflux(ctx, m.ID, ro)
	if err != nil {
		t.Fatal(err)
	}
	if res.Target != ro.NewDatabase || res.Bytes != m.Size {
		t.Fatalf("result: %+v", res)
	}
	for suffix, n := range want {
		if got := countPoints(t, client, s.Org, ro.NewDatabase+suffix); got != n {
			t.Errorf("%s: %d points after restore, want %d", ro.NewDatabase+suffix, got, n)
		}
	}
	if b, _ := client.BucketsAPI().FindBucketByName(ctx, ro.NewDatabase+"_other"); b != nil {
		t.Errorf("a bucket of another database was backed up and restored: %s", b.Name)
	}

	// A token without operator rights gets one clear error.
	if _, err := cat.BackupInflux(ctx, backup.InfluxBackup{Database: s.Database, URL: s.URL, Token: "not-a-token"}); err == nil ||
		!strings.Contains(err.Error(), "operator token") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := cat.BackupInflux(ctx, backup.InfluxBackup{Database: s.Database + "_none", URL: s.URL, Token: s.Token}); !errors.Is(err, backup.ErrNoBuckets) {
		t.Fatalf("no such database: %v, want ErrNoBuckets", err)
	}
}

func writePoints(t *testing.T, client influxdb2.Client, org *domain.Organization, bucket string, n int, span time.Duration) {
	t.Helper()
	if _, err := client.BucketsAPI().CreateBucketWithName(t.Context(), org, bucket); err != nil {
		t.Fatal(err)
	}
	w := client.WriteAPIBlocking(org.Name, bucket)
	start := time.Now().Add(-span)
	var lines []string
	for i := range n {
		at := start.Add(time.Duration(i) * span / time.Duration(n))
		lines = append(lines, fmt.Sprintf("ticks,symbol=S%d price=%d.5 %d", i%5, i, at.UnixNano()))
	}
	if err := w.WriteRecord(t.Context(), lines...); err != nil {
		t.Fatal(err)
	}
}

func countPoints(t *testing.T, client influxdb2.Client, org, bucket string) int {
	t.Helper()
	res, err := client.QueryAPI(org).Query(t.Context(), fmt.Sprintf(
		`from(bucket: %q) |> range(start: 0) |> filter(fn: (r) => r._field == "price") |> group() |> count()`, bucket))
	if err != nil {
		t.Fatalf("count %s: %v", bucket, err)
	}
	n := 0
	for res.Next() {
		n += int(res.Record().Value().(int64))
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
