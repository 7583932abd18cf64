package main

import (
	"strings"
	"testing"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/testenv"
)

// TestBackupInfluxDefaultsAndRPC: backup influx backs up the database 'influx setup' creates unless
// told otherwise, names a database that does not exist, and fails at once, naming QUANTX_INFLUX_RPC,
// when the 1.x backup/restore address does not answer.
func TestBackupInfluxDefaultsAndRPC(t *testing.T) {
	t.Parallel()
	if got, want := newBackupInfluxCmd(&deps{}).Flags().Lookup("database").DefValue, influx.DefaultDesired().Database; got != want || got != "quantx_db" {
		t.Fatalf("backup influx --database defaults to %q, want %q (the database influx setup creates)", got, want)
	}
	db := testenv.Influx(t)
	b := testenv.S3(t)
	env := map[string]string{"QUANTX_INFLUX_URL": db.URL, "QUANTX_INFLUX_TOKEN": db.Token, "QUANTX_INFLUX_RPC": db.RPC,
		"QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey, "QUANTX_S3_SECRET_KEY": b.SecretKey,
		"QUANTX_S3_BUCKET": b.Bucket, "HOME": homeDir(t)}

	r := runCLI(t, env, "backup", "influx", "--database", db.Database)
	if r.code != exitFailure || !strings.Contains(r.stderr, "no database "+db.Database) || !strings.Contains(r.stderr, "hint: check --database") {
		t.Errorf("missing database: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := db.Query(t.Context(), `CREATE DATABASE "`+db.Database+`"`); err != nil {
		t.Fatal(err)
	}
	env["QUANTX_INFLUX_RPC"] = "127.0.0.1:1"
	r = runCLI(t, env, "backup", "influx", "--database", db.Database, "-o", "json", "--log-level", "warn")
	if r.code != exitFailure || !strings.Contains(r.stderr, "127.0.0.1:1") || !strings.Contains(r.stderr, "QUANTX_INFLUX_RPC") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || !strings.Contains(r.stdout, `"exit_code": 1`) {
		t.Errorf("unreachable rpc: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	env["QUANTX_INFLUX_RPC_TIMEOUT"] = "soon"
	if r := runCLI(t, env, "backup", "influx", "--database", db.Database); r.code != exitUsage || !strings.Contains(r.stderr, "QUANTX_INFLUX_RPC_TIMEOUT") {
		t.Errorf("bad rpc timeout: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestDoctorInfluxRPC: with a 1.x server, doctor checks the backup/restore address and finds influxd
// where backup influx finds it ($QUANTX_CACHE/bin when PATH lacks it).
func TestDoctorInfluxRPC(t *testing.T) {
	t.Parallel()
	db := testenv.Influx(t)
	testenv.Tool(t, "influxdb", "influxd") // installed by scripts/services in $QUANTX_CACHE/bin
	doctor := func(rpc string) map[string]struct{ Status, Detail, Fix string } {
		t.Helper()
		env := map[string]string{"QUANTX_INFLUX_URL": db.URL, "QUANTX_INFLUX_TOKEN": db.Token, "QUANTX_INFLUX_RPC": rpc,
			"QUANTX_CACHE": testenv.CacheDir()}
		r := runCLI(t, env, "doctor", "-o", "json")
		doc := decodeJSON[statusDoc](t, r.stdout)
		out := map[string]struct{ Status, Detail, Fix string }{}
		for _, c := range doc.Items {
			out[c.Store+"/"+c.Name] = struct{ Status, Detail, Fix string }{c.State, c.Detail, c.Fix}
		}
		return out
	}
	ok := doctor(db.RPC)
	if c := ok["influx/backup rpc"]; c.Status != "ok" || !strings.Contains(c.Detail, db.RPC) {
		t.Errorf("reachable rpc: %+v", c)
	}
	if c := ok["tools/influxd"]; c.Status != "ok" || !strings.Contains(c.Detail, "1.8") {
		t.Errorf("influxd in $QUANTX_CACHE/bin not found: %+v", c)
	}
	if c := doctor("127.0.0.1:1")["influx/backup rpc"]; c.Status != "action" || !strings.Contains(c.Detail, "127.0.0.1:1") || !strings.Contains(c.Fix, "QUANTX_INFLUX_RPC") {
		t.Errorf("unreachable rpc: %+v", c)
	}
}
