package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Standby makes a hot standby of the running cluster c: pg_basebackup of it (-R: standby.signal and
// primary_conninfo) into its own data directory, started on its own port and socket directory, and
// streaming from c. It returns once the standby accepts read-only queries and has replayed
// everything c had committed when Standby was called. Like c, it is stopped and removed when the
// test ends (kept if the test failed).
func (c *Cluster) Standby(t testing.TB) *Cluster {
	t.Helper()
	root, err := os.MkdirTemp(filepath.Dir(c.root), uniqueName(t, "standby-", "-", 40)+"-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	s := newClusterIn(t, root, "standby", &Cluster{BinDir: c.BinDir, OSUser: c.OSUser})

	var lsn string
	if err := pgQueryRow(c.URL, "SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		t.Fatalf("testenv: reading the primary's WAL position: %v", err)
	}
	out, err := c.Command(context.Background(), c.serverTool("pg_basebackup"), "-h", "127.0.0.1",
		"-p", fmt.Sprint(c.Port), "-U", "postgres", "-D", s.DataDir, "-R", "-X", "stream", "--no-sync", "-c", "fast").CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: pg_basebackup: %v\n%s", err, out)
	}
	// The copied postgresql.conf carries the primary's port and socket directory; later lines win.
	conf := fmt.Sprintf("\n# testenv.Standby\nport = %d\nunix_socket_directories = '%s'\nhot_standby = on\n", s.Port, s.SocketDir)
	f, err := os.OpenFile(filepath.Join(s.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		f.Close()
	}
	if err != nil {
		t.Fatalf("testenv: writing the standby's postgresql.conf: %v", err)
	}
	os.Remove(filepath.Join(s.DataDir, "postmaster.pid")) // never copied, but be sure
	s.Start(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var caughtUp bool
		err := pgQueryRow(s.URL, "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '"+lsn+"'::pg_lsn", &caughtUp)
		if err == nil && caughtUp {
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.LogFile)
			t.Fatalf("testenv: standby on port %d did not catch up with %s: %v\n%s", s.Port, lsn, err, tail(log, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serverTool finds a client program of the server's own version: beside pg_ctl (following a symlink
// such as /usr/local/bin/pg_ctl to the real folder), else in Debian's folder.
func (c *Cluster) serverTool(name string) string {
	dirs := []string{c.BinDir}
	if real, err := filepath.EvalSymlinks(filepath.Join(c.BinDir, "pg_ctl")); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range append(dirs, pgBinDir) {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return name
}

// DatabaseURL is the URL of database name on this cluster, as the superuser.
func (c *Cluster) DatabaseURL(name string) string {
	return strings.Replace(c.URL, "/postgres?", "/"+name+"?", 1)
}

// pgQueryRow reads one value from a short-lived connection to connURL.
func pgQueryRow(connURL, sql string, dest any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql).Scan(dest)
}
