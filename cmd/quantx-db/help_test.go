package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
)

// TestEveryCommandHasAnExample walks the whole command tree: every command a
// user can run shows an example in --help, and its Short text is set.
func TestEveryCommandHasAnExample(t *testing.T) {
	s, _, _ := output.TestStreams()
	root := newRootCmd(newDeps(s, func(string) string { return "" }))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Short == "" {
			t.Errorf("%s has no Short description", c.CommandPath())
		}
		if c.Runnable() && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s --help has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestVersionJSON(t *testing.T) {
	r := runCLI(t, nil, "version", "-o", "json")
	v := decodeJSON[versionInfo](t, r.stdout)
	if r.code != exitOK || v.Version == "" || !strings.HasPrefix(v.GoVersion, "go1.") {
		t.Fatalf("version: %d %+v", r.code, v)
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	r := runCLI(t, nil, "migrate", "up", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "Examples:") || r.stderr != "" {
		t.Fatalf("help: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestManPagesAreCurrent regenerates the man pages and compares them with
// docs/man, so a changed flag or command cannot ship with stale pages. The
// .TH line carries the month of generation and is left out of the comparison.
func TestManPagesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, nil, "gen-man", dir); r.code != exitOK {
		t.Fatalf("gen-man: %d %s", r.code, r.stderr)
	}
	read := func(dir string) map[string]string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(dir, "*.1"))
		if err != nil {
			t.Fatal(err)
		}
		pages := map[string]string{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var keep []string
			for _, line := range strings.Split(string(b), "\n") {
				if !strings.HasPrefix(line, ".TH ") {
					keep = append(keep, line)
				}
			}
			pages[filepath.Base(f)] = strings.Join(keep, "\n")
		}
		return pages
	}
	want, got := read(dir), read(filepath.Join("..", "..", "docs", "man"))
	for name, page := range want {
		if got[name] != page {
			t.Errorf("docs/man/%s is missing or stale: run `go run ./cmd/quantx-db gen-man docs/man`", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/man/%s has no command any more: delete it and regenerate", name)
		}
	}
}
