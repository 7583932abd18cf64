package testenv

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// NewInflux starts a private InfluxDB 1.8 server (the influxd that scripts/services installed for the
// shared one) owned by t, with authentication on and an admin user, and returns it with a fresh
// database name, like Influx. It is killed and its data removed when the test ends.
//
// Tests that restore a backup need it: influxd 1.8 imports a restore's metadata by copying the whole
// metastore, changing the copy and writing it back without a lock (services/snapshotter
// updateMetaStore: Data, ImportData, SetData), so a shard group that a write to another database
// creates in that moment is lost, or gets the same shard ID as a restored one. On the shared server
// a restore breaks the tests writing at the same time, and theirs break it.
func NewInflux(t testing.TB) *InfluxDB {
	t.Helper()
	bin := Tool(t, "influxdb", "influxd")
	dir := t.TempDir()
	httpAddr, rpc := fmt.Sprintf("127.0.0.1:%d", FreePort(t)), fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q

[meta]
  dir = %q

[data]
  dir = %q
  wal-dir = %q
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = %q
  auth-enabled = true
  log-enabled = false

[continuous_queries]
  log-enabled = false
`, rpc, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpAddr)
	confFile := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "http://" + httpAddr
	startServer(t, "influxd", url+"/ping", http.StatusNoContent, filepath.Join(dir, "influxd.log"), bin, "run", "-config", confFile)

	// With authentication on and no user yet, the server takes exactly this statement unauthenticated.
	password := strings.ToLower(rand.Text())
	anon, err := influxclient.New(influxclient.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := anon.Query(ctx, influxclient.Query{Statement: `CREATE USER "admin" WITH PASSWORD '` + password + `' WITH ALL PRIVILEGES`}); err != nil {
		t.Fatalf("testenv: creating the admin user on %s: %v", url, err)
	}
	db := &InfluxDB{URL: url, Token: "admin:" + password, RPC: rpc, Database: uniqueName(t, "t_", "_", 63)}
	db.Client = influxClient(t, "influxdb", db.URL, db.Token, 1)
	return db
}

// NewInflux2 starts a private InfluxDB 2.x server (the influxd2 that scripts/services installed for
// the shared one) owned by t, set up with an organization and an all-access token, and returns it with
// a fresh database name, like Influx2. It is killed and its data removed when the test ends.
//
// Tests that restore a backup need it, for the reason NewInflux gives: 2.7 imports a restored
// bucket's shard groups the same way (storage.Engine.RestoreBucket: Data, change the copy, SetData,
// under a read lock only).
func NewInflux2(t testing.TB) *InfluxDB2 {
	t.Helper()
	bin := Tool(t, "influxdb2", "influxd2")
	dir := t.TempDir()
	s := &InfluxDB2{URL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)), Token: strings.ToLower(rand.Text()),
		Org: "quantx", Database: uniqueName(t, "t2_", "_", 63)}
	startServer(t, "influxd2", s.URL+"/health", http.StatusOK, filepath.Join(dir, "influxd.log"), bin,
		"--http-bind-address", strings.TrimPrefix(s.URL, "http://"), "--reporting-disabled",
		"--bolt-path", filepath.Join(dir, "influxd.bolt"), "--engine-path", filepath.Join(dir, "engine"),
		"--sqlite-path", filepath.Join(dir, "influxd.sqlite"), "--log-level", "warn")
	anon, err := influxclient.New(influxclient.Options{URL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": strings.ToLower(rand.Text()),
		"org": s.Org, "bucket": "quantx-test", "token": s.Token})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := anon.Do(ctx, influxclient.Request{Method: http.MethodPost, Path: "/api/v2/setup",
		Body: strings.NewReader(string(body)), ContentType: "application/json"})
	if err != nil {
		t.Fatalf("testenv: setting up influxd2 on %s: %v", s.URL, err)
	}
	resp.Body.Close()
	s.Client = influxClient(t, "influxdb2", s.URL, s.Token, 2)
	return s
}

// startServer runs bin with args, its output into logFile, until the test ends (then SIGKILL), and
// waits until ready answers status.
func startServer(t testing.TB, name, ready string, status int, logFile, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("testenv: starting %s: %v", name, err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile)
			t.Fatalf("testenv: %s exited before answering on %s:\n%s", name, ready, tail(log, 20))
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("testenv: %s not answering on %s: %v\n%s", name, ready, err, tail(log, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
