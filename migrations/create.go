package migrations

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/golang-migrate/migrate/v4/source"
)

var nameChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })

// Create writes the next pair of empty migration files into dir and returns
// their paths. Versions are zero-padded to 4 digits so that ls order is
// apply order.
func Create(dir, name string, noTransaction bool) (up, down string, err error) {
	slug := strings.Trim(nameChars().ReplaceAllString(strings.ToLower(name), "_"), "_")
	if slug == "" {
		return "", "", fmt.Errorf("migration name %q has no letters or digits", name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("create migration: %w", err)
	}
	var last uint
	for _, e := range entries {
		if m, err := source.Parse(e.Name()); err == nil && m.Version > last {
			last = m.Version
		}
	}
	base := fmt.Sprintf("%04d_%s", last+1, slug)
	header := "-- " + base + "\n"
	if noTransaction {
		header = NoTransactionDirective + "\n-- Each statement runs on its own, outside a transaction: make it safe to re-run\n-- (IF NOT EXISTS / IF EXISTS), because a failure leaves the earlier ones applied.\n"
	}
	up = filepath.Join(dir, base+".up.sql")
	down = filepath.Join(dir, base+".down.sql")
	for _, p := range []string{up, down} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return "", "", fmt.Errorf("create migration: %w", err)
		}
		_, werr := f.WriteString(header)
		if cerr := f.Close(); werr != nil || cerr != nil {
			return "", "", fmt.Errorf("create migration %s: %w", p, fmtErr(werr, cerr))
		}
	}
	return up, down, nil
}

func fmtErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
