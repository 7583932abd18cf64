package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/quantx/quantx-db/internal/testenv"
)

func TestBackupRestoreInfluxCLI(t *testing.T) {
	t.Parallel()
	db := testenv.NewInflux(t) // private: a restore races with other tests' writes (see NewInflux)
	b := testenv.S3(t)
	env := map[string]string{"QUANTX_INFLUX_URL": db.URL, "QUANTX_INFLUX_TOKEN": db.Token, "QUANTX_INFLUX_RPC": db.RPC,
		"QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey, "QUANTX_S3_SECRET_KEY": b.SecretKey,
		"QUANTX_S3_BUCKET": b.Bucket, "HOME": homeDir(t)}
	if err := db.Query(t.Context(), `CREATE DATABASE "`+db.Database+`"`); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := range 50 {
		fmt.Fprintf(&lines, "ticks price=%d %d\n", i, time.Now().Add(-time.Duration(i)*time.Minute).UnixNano())
	}
	if err := db.Client.Write(t.Context(), db.Database+"/autogen", "", []byte(lines.String())); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, env, "backup", "influx", "--database", db.Database); r.code != exitOK {
		t.Fatalf("backup influx: exit %d: %s", r.code, r.stderr)
	}
	doc := listBackups(t, env)
	if len(doc.Backups) != 1 || doc.Backups[0].Kind != "influx" {
		t.Fatalf("list: %+v", doc)
	}
	id := doc.Backups[0].ID
	if r := runCLI(t, env, "restore", "influx", id); r.code != exitUsage || !strings.Contains(r.stderr, "--new-database") {
		t.Fatalf("restore onto the existing database: exit %d: %s", r.code, r.stderr)
	}
	newDB := db.Database + "_cli"
	t.Cleanup(func() { db.Query(context.Background(), `DROP DATABASE "`+newDB+`"`) })
	if r := runCLI(t, env, "restore", "influx", id, "--new-database", newDB); r.code != exitOK {
		t.Fatalf("restore influx: exit %d: %s", r.code, r.stderr)
	}
	if err := db.Query(t.Context(), `SELECT count(price) FROM "`+newDB+`".."ticks"`); err != nil {
		t.Fatalf("query restored database: %v", err)
	}
}

func homeDir(t *testing.T) string {
	h, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory for influxd lookup")
	}
	return h
}

// TestBackupRestoreInflux2CLI: on InfluxDB 2.x the same two commands work through the HTTP backup API,
// without influxd (no HOME in env, so the cached influxd 1.8 is not found).
func TestBackupRestoreInflux2CLI(t *testing.T) {
	t.Parallel()
	s := testenv.NewInflux2(t) // private: a restore races with other tests' writes (see testenv.NewInflux2)
	b := testenv.S3(t)
	env := map[string]string{"QUANTX_INFLUX_URL": s.URL, "QUANTX_INFLUX_TOKEN": s.Token, "QUANTX_INFLUX_ORG": s.Org,
		"QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey, "QUANTX_S3_SECRET_KEY": b.SecretKey,
		"QUANTX_S3_BUCKET": b.Bucket}
	client := influxdb2.NewClient(s.URL, s.Token)
	defer client.Close()
	ctx := t.Context()
	org, err := client.OrganizationsAPI().FindOrganizationByName(ctx, s.Org)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.BucketsAPI().CreateBucketWithName(ctx, org, s.Database+"/7_days_detailed"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("market_quotes,symbol=BTC last=%d.5 %d", i, time.Now().Add(-time.Duration(i)*time.Minute).UnixNano()))
	}
	if err := client.WriteAPIBlocking(s.Org, s.Database+"/7_days_detailed").WriteRecord(ctx, lines...); err != nil {
		t.Fatal(err)
	}

	if r := runCLI(t, env, "backup", "influx", "--database", s.Database, "-o", "json"); r.code != exitOK {
		t.Fatalf("backup influx: exit %d: %s", r.code, r.stderr)
	}
	id := listBackups(t, env).Backups[0].ID
	if r := runCLI(t, env, "restore", "influx", id); r.code != exitUsage || !strings.Contains(r.stderr, "--new-database") {
		t.Fatalf("restore onto the existing buckets: exit %d: %s", r.code, r.stderr)
	}
	newDB := s.Database + "_cli"
	if r := runCLI(t, env, "restore", "influx", id, "--new-database", newDB); r.code != exitOK {
		t.Fatalf("restore influx: exit %d: %s", r.code, r.stderr)
	}
	res, err := client.QueryAPI(s.Org).Query(ctx, `from(bucket: "`+newDB+`/7_days_detailed") |> range(start: -1d) |> count()`)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for res.Next() {
		n += res.Record().Value().(int64)
	}
	if res.Err() != nil || n != 40 {
		t.Fatalf("restored %d points (%v), want 40", n, res.Err())
	}
	if r := runCLI(t, env, "backup", "influx", "--database", "no_such_db"); r.code != exitFailure || !strings.Contains(r.stderr, "DATABASE/<tier>") {
		t.Fatalf("unknown database: exit %d: %s", r.code, r.stderr)
	}
}
