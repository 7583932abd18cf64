package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// OwnerError says why this process may not run pgBackRest on a data directory.
type OwnerError struct {
	Dir   string
	Owner string // the directory's owner ("" when it could not be read)
	User  string // who we run as
	Err   error  // ErrRunAsRoot or ErrNotOwner
}

func (e *OwnerError) Error() string {
	switch {
	case errors.Is(e.Err, ErrRunAsRoot):
		if e.Owner != "" {
			return fmt.Sprintf("refusing to run as root: pgBackRest must run as %s, the owner of %s", e.Owner, e.Dir)
		}
		return "refusing to run as root: pgBackRest and PostgreSQL run as the user that owns the data directory (usually postgres)"
	case e.Owner == "":
		return fmt.Sprintf("%s cannot read %s: run as the owner of the data directory", e.User, e.Dir)
	}
	return fmt.Sprintf("%s does not own %s: run as %s, its owner", e.User, e.Dir, e.Owner)
}

// Unwrap returns ErrRunAsRoot or ErrNotOwner.
func (e *OwnerError) Unwrap() error { return e.Err }

// CheckOwner refuses root, and a user who does not own dir (or cannot see it). It changes nothing.
// pgBackRest run as root would leave root-owned lock and log files that make the next
// archive_command fail; as another user it cannot read the data files.
func CheckOwner(dir string) error {
	me := currentUser()
	owner := ""
	st, err := os.Stat(dir)
	if err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			owner = userName(sys.Uid)
			if os.Geteuid() == 0 {
				return &OwnerError{Dir: dir, Owner: owner, User: me, Err: ErrRunAsRoot}
			}
			if int(sys.Uid) != os.Geteuid() {
				return &OwnerError{Dir: dir, Owner: owner, User: me, Err: ErrNotOwner}
			}
			return nil
		}
	}
	if os.Geteuid() == 0 {
		return &OwnerError{Dir: dir, User: me, Err: ErrRunAsRoot}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory %s: %w", dir, fs.ErrNotExist)
	}
	return &OwnerError{Dir: dir, User: me, Err: ErrNotOwner}
}

// RefuseRoot returns an OwnerError when this process runs as root.
func RefuseRoot() error {
	if os.Geteuid() == 0 {
		return &OwnerError{User: "root", Err: ErrRunAsRoot}
	}
	return nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(os.Geteuid())
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return "uid " + strconv.FormatUint(uint64(uid), 10)
}

// postmaster is what postmaster.pid says about a running server (PostgreSQL's pidfile.h: line 1 pid,
// 2 data directory, 3 start time, 4 port, 5 first socket directory, 6 first listen address).
type postmaster struct {
	PID        int
	Port       int
	SocketDir  string
	ListenAddr string
}

// readPostmaster reads dir/postmaster.pid and checks that its process is alive.
func readPostmaster(dir string) (postmaster, error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return postmaster{}, fmt.Errorf("%s has no postmaster.pid: %w", dir, ErrServerNotRunning)
	}
	if err != nil {
		return postmaster{}, err
	}
	lines := strings.Split(string(b), "\n")
	for len(lines) < 6 {
		lines = append(lines, "")
	}
	var pm postmaster
	pm.PID, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	pm.Port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	pm.SocketDir = strings.TrimSpace(lines[4])
	pm.ListenAddr = strings.TrimSpace(lines[5])
	if pm.PID <= 0 {
		return postmaster{}, fmt.Errorf("%s: unreadable postmaster.pid: %w", dir, ErrServerNotRunning)
	}
	if err := syscall.Kill(pm.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) { // EPERM: alive, someone else's
		return postmaster{}, fmt.Errorf("%s: postmaster.pid names no live process (a crash left it): %w", dir, ErrServerNotRunning)
	}
	return pm, nil
}

// connString connects to the server through its socket (else its listen address) as the OS user,
// which is how a DBA reaches a local cluster (peer or trust authentication).
func (pm postmaster) connString(dbname string) string {
	host := pm.SocketDir
	if host == "" {
		host = pm.ListenAddr
		if host == "" || host == "*" || host == "0.0.0.0" {
			host = "127.0.0.1"
		}
	}
	return fmt.Sprintf("host='%s' port=%d dbname='%s' user='%s' application_name=quantx-db connect_timeout=10",
		quoteConnValue(host), pm.Port, quoteConnValue(dbname), quoteConnValue(currentUser()))
}

func quoteConnValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// dataMajor returns the major version in dir/PG_VERSION.
func dataMajor(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if err != nil {
		return 0, fmt.Errorf("%s is not a PostgreSQL data directory: %w", dir, err)
	}
	v := strings.TrimSpace(string(b))
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("%s/PG_VERSION: %q is not a version", dir, v)
	}
	return major, nil
}

// pgBinDir finds the folder of PostgreSQL's server binaries of major version major: explicit, then
// the running postmaster's own folder (pid > 0), then the usual package locations, then PATH and
// pg_config. pg_ctl is rarely on PATH, and PATH's may be another major version.
func pgBinDir(ctx context.Context, explicit string, major, pid int) (string, error) {
	var candidates []string
	if explicit != "" {
		candidates = []string{explicit}
	} else {
		if pid > 0 {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil {
				candidates = append(candidates, filepath.Dir(exe))
			}
		}
		candidates = append(candidates,
			fmt.Sprintf("/usr/lib/postgresql/%d/bin", major), // Debian, Ubuntu
			fmt.Sprintf("/usr/pgsql-%d/bin", major),          // PGDG RPMs
			fmt.Sprintf("/opt/homebrew/opt/postgresql@%d/bin", major),
			fmt.Sprintf("/usr/local/opt/postgresql@%d/bin", major))
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
		if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	var tried []string
	for _, dir := range candidates {
		ctl := filepath.Join(dir, "pg_ctl")
		if _, err := os.Stat(ctl); err != nil {
			tried = append(tried, dir)
			continue
		}
		out, err := exec.CommandContext(ctx, ctl, "--version").Output()
		if err != nil {
			tried = append(tried, dir)
			continue
		}
		if m, _, err := ParseToolMajor(string(out)); err == nil && m == major {
			return dir, nil
		}
		tried = append(tried, dir+" (another version)")
	}
	return "", fmt.Errorf("PostgreSQL %d server binaries (pg_ctl) not found in %s: %w", major, strings.Join(tried, ", "), ErrToolMissing)
}
