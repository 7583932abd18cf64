package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pgBinDir is where Debian's postgresql-15 puts the server's own binaries (initdb, pg_ctl, postgres).
const pgBinDir = "/usr/lib/postgresql/15/bin"

// CacheDir is where scripts/services keeps the servers it installs (QUANTX_CACHE, default
// ~/.cache/quantx-db).
func CacheDir() string {
	if c := os.Getenv("QUANTX_CACHE"); c != "" {
		return c
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "quantx-db")
}

// Tool returns the path of an executable that scripts/services installs for service: from PATH, else
// from $QUANTX_CACHE/bin, else (for PostgreSQL's binaries) from /usr/lib/postgresql/15/bin. A missing
// tool ends the test like a missing server: it fails under CI, and is skipped otherwise.
func Tool(t testing.TB, service, name string) string {
	t.Helper()
	p, err := findTool(name)
	if err != nil {
		unavailable(t, service, err)
	}
	return p
}

func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	var tried []string
	for _, dir := range []string{filepath.Join(CacheDir(), "bin"), pgBinDir} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("%s: %w (looked in PATH and %v)", name, errors.New("executable not found"), tried)
}
