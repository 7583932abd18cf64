package main

import (
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
