package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a private PostgreSQL 15 server owned by one test: its own data directory, port and
// socket directory. Tests that kill, restart or reconfigure PostgreSQL use one, so the shared server
// that every other test uses is never disturbed. It is stopped (immediately) and removed when the
// test ends; a failed test keeps its data directory and log, and logs where they are.
type Cluster struct {
	// BinDir holds the server's own binaries (initdb, pg_ctl, postgres, pg_dump of the same version).
	BinDir string
	// DataDir is the data directory; OSUser owns it and runs the server.
	DataDir string
	// OSUser is the operating-system user that owns DataDir ("postgres" when the test runs as root,
	// because PostgreSQL refuses to run as root; otherwise the current user).
	OSUser string
	// SocketDir is the Unix-socket directory (-k); LogFile is the server log.
	SocketDir string
	LogFile   string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// URL connects as the superuser "postgres" to the "postgres" database over TCP.
	URL string

	root string // the folder holding DataDir, SocketDir and LogFile
}

// ClusterOptions configures NewCluster. The zero value is a fast throwaway server.
type ClusterOptions struct {
	// Settings are appended to postgresql.conf (not passed with -c), so that ALTER SYSTEM, which
	// writes postgresql.auto.conf, can still override them as it does on a real server.
	Settings map[string]string
	// Durable keeps fsync, synchronous_commit and full_page_writes on (crash tests that must not
	// lose committed data need them; the default turns them off for speed).
	Durable bool
}

// newClusterIn lays out a cluster under root (data directory, socket
// directory, log, a free port) with c's binaries and OS user, and stops and
// removes it when the test ends, keeping it if the test failed (what names
// it in that log line).
func newClusterIn(t testing.TB, root, what string, c *Cluster) *Cluster {
	t.Helper()
	c.root = root
	c.DataDir = filepath.Join(root, "data")
	c.SocketDir = filepath.Join(root, "sock")
	c.LogFile = filepath.Join(root, "postgres.log")
	c.Port = FreePort(t)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	if err := os.Mkdir(c.SocketDir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	c.chown(t, root, c.SocketDir)
	t.Cleanup(func() {
		_ = c.stop("immediate")
		if t.Failed() {
			t.Logf("testenv: kept %s %s (log %s) of the failed test", what, c.DataDir, c.LogFile)
			return
		}
		os.RemoveAll(root)
	})
	return c
}

// NewCluster initialises and starts a private cluster for t.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	bin := filepath.Dir(Tool(t, "postgres", "initdb"))
	if _, err := os.Stat(filepath.Join(bin, "pg_ctl")); err != nil {
		bin = pgBinDir
	}
	osUser, err := clusterUser()
	if err != nil {
		unavailable(t, "postgres", err)
	}
	// Not t.TempDir(): its parents are 0700 and the postgres user must reach its data directory.
	base := os.Getenv("QUANTX_RUN")
	if base == "" {
		base = "/var/tmp/quantx-db-run"
	}
	if err := os.MkdirAll(filepath.Join(base, "clusters"), 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	root, err := os.MkdirTemp(filepath.Join(base, "clusters"), uniqueName(t, "", "-", 40)+"-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	c := newClusterIn(t, root, "cluster", &Cluster{BinDir: bin, OSUser: osUser})

	if out, err := c.Command(context.Background(), filepath.Join(bin, "initdb"), "-D", c.DataDir,
		"--auth=trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	conf := map[string]string{
		"port": strconv.Itoa(c.Port), "listen_addresses": "'127.0.0.1'",
		"unix_socket_directories": "'" + c.SocketDir + "'", "max_connections": "50",
	}
	if !opts.Durable {
		conf["fsync"], conf["synchronous_commit"], conf["full_page_writes"] = "off", "off", "off"
	}
	for k, v := range opts.Settings {
		conf[k] = v
	}
	var b strings.Builder
	b.WriteString("\n# testenv.NewCluster\n")
	for k, v := range conf {
		fmt.Fprintf(&b, "%s = %s\n", k, v)
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(b.String())
		f.Close()
	}
	if err != nil {
		t.Fatalf("testenv: writing postgresql.conf: %v", err)
	}
	c.Start(t)
	return c
}

// Command builds a command that runs as the cluster's OS user (through runuser when the test runs as
// root), for the server's tools and for anything that must own the data directory, such as pgBackRest.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 && c.OSUser != "root" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", c.OSUser, "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// Start starts the server and waits until it accepts connections (also after Kill, when it must first
// recover from the crash).
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	// A stale pid file from a killed server makes pg_ctl refuse to start.
	if pid := c.PID(); pid > 0 && syscall.Kill(pid, 0) != nil {
		os.Remove(filepath.Join(c.DataDir, "postmaster.pid"))
	}
	cmd := c.Command(context.Background(), filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir, "-l", c.LogFile,
		"-w", "-t", "120", "start")
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(c.LogFile)
		t.Fatalf("testenv: pg_ctl start: %v\n%s\n%s", err, out, tail(log, 30))
	}
	c.WaitReady(t)
}

// WaitReady waits until the server accepts a query (up to 60 s).
func (c *Cluster) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.URL)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			conn.Close(context.Background())
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: cluster on port %d not ready: %v", c.Port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server with pg_ctl: mode is "smart", "fast" or "immediate".
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if err := c.stop(mode); err != nil {
		t.Fatalf("testenv: pg_ctl stop -m %s: %v", mode, err)
	}
}

func (c *Cluster) stop(mode string) error {
	if pid := c.PID(); pid <= 0 || syscall.Kill(pid, 0) != nil {
		return nil
	}
	out, err := c.Command(context.Background(), filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir, "-m", mode,
		"-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Restart stops the server (fast) and starts it again.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.Stop(t, "fast")
	c.Start(t)
}

// Kill sends SIGKILL to the postmaster, as the kernel's OOM killer or a power cut would: no shutdown
// checkpoint, the next Start recovers from the WAL. Its children exit on their own once they notice.
func (c *Cluster) Kill(t testing.TB) {
	t.Helper()
	pid := c.PID()
	if pid <= 0 {
		t.Fatalf("testenv: cluster on port %d has no postmaster.pid", c.Port)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("testenv: kill -9 %d: %v", pid, err)
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	// The backends notice the dead postmaster within a moment; wait for the port to be free so that
	// Start does not race them.
	for i := 0; i < 200; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port))
		if err == nil {
			ln.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the postmaster's pid from postmaster.pid, or 0.
func (c *Cluster) PID() int {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// Database creates a fresh database on this cluster and returns it (dropped with the cluster).
func (c *Cluster) Database(t testing.TB) *PGDatabase {
	t.Helper()
	db := &PGDatabase{Name: uniqueName(t, "t_", "_", 63), AdminURL: c.URL}
	u, _ := url.Parse(c.URL)
	u.Path = "/" + db.Name
	db.URL = u.String()
	if err := pgExec(c.URL, "CREATE DATABASE "+pgx.Identifier{db.Name}.Sanitize()); err != nil {
		t.Fatalf("testenv: creating database %s: %v", db.Name, err)
	}
	return db
}

// Dir makes the folder root/name beside the data directory, owned by OSUser, for what the cluster's
// tools write (a pgBackRest configuration and its logs, a restored copy of the cluster). It is removed
// with the cluster.
func (c *Cluster) Dir(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(c.root, name)
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	c.chown(t, p)
	return p
}

// chown gives paths to the cluster's OS user when the test runs as root.
func (c *Cluster) chown(t testing.TB, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 || c.OSUser == "root" {
		return
	}
	u, err := user.Lookup(c.OSUser)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatalf("testenv: chown %s: %v", p, err)
		}
	}
}

// clusterUser is the OS user that runs private clusters: PostgreSQL refuses root, so root tests use
// the "postgres" system user that Debian's package creates.
func clusterUser() (string, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return "", err
		}
		return u.Username, nil
	}
	if _, err := user.Lookup("postgres"); err != nil {
		return "", errors.New("running as root and there is no postgres system user (install postgresql-15)")
	}
	return "postgres", nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
