package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
)

// parents returns every command of the tree that has subcommands, the root
// included, so that a parent added later is covered without editing a test.
func parents(t *testing.T) []*cobra.Command {
	t.Helper()
	s, _, _ := output.TestStreams()
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			out = append(out, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(newDeps(s, func(string) string { return "" })))
	if len(out) < 8 {
		t.Fatalf("only %d parent commands found", len(out))
	}
	return out
}

// pathArgs is the arguments that reach c from the root ("migrate", "up").
func pathArgs(c *cobra.Command) []string {
	var args []string
	for ; c.HasParent(); c = c.Parent() {
		args = append([]string{c.Name()}, args...)
	}
	return args
}

// errorDocOf decodes the JSON error document of a failed run.
func errorDocOf(t *testing.T, r cliResult) errorDoc {
	t.Helper()
	return decodeJSON[errorDoc](t, r.stdout)
}

// checkUsageError asserts exit 2, at most two lines on stderr, and no help text.
func checkUsageError(t *testing.T, what string, r cliResult) {
	t.Helper()
	if r.code != exitUsage {
		t.Errorf("%s: exit %d, want 2\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n == 0 || n > 2 {
		t.Errorf("%s: %d lines on stderr, want 1 or 2:\n%s", what, n, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "Usage:") {
		t.Errorf("%s: printed help instead of an error", what)
	}
}

// TestEveryParentRejectsTyposAndStrayWords: under every parent command (the
// root included), a mistyped subcommand exits 2 with a "did you mean"
// suggestion, a word that is no subcommand exits 2, and the parent alone
// exits 2 naming its subcommands; with -o json the error document is on
// stdout. Before, a typo printed help and exited 0: a cron line or a CI step
// with a typo passed.
func TestEveryParentRejectsTyposAndStrayWords(t *testing.T) {
	for _, p := range parents(t) {
		path := pathArgs(p)
		var first string
		for _, sub := range p.Commands() {
			if sub.IsAvailableCommand() {
				first = sub.Name()
				break
			}
		}
		typo := first + first[len(first)-1:] // "up" -> "upp", "list" -> "listt"
		name := strings.Join(append([]string{"quantx-db"}, path...), " ")
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, nil, append(path, typo)...)
			checkUsageError(t, name+" "+typo, r)
			if !strings.Contains(r.stderr, `did you mean "`+first+`"`) {
				t.Errorf("%s %s: no suggestion of %q: %s", name, typo, first, r.stderr)
			}

			r = runCLI(t, nil, append(path, "zzzz-stray", "-o", "json")...)
			checkUsageError(t, name+" zzzz-stray", r)
			if doc := errorDocOf(t, r); doc.Error.ExitCode != exitUsage || !strings.Contains(doc.Error.Message, `unknown command "zzzz-stray"`) {
				t.Errorf("%s zzzz-stray -o json: %+v", name, doc)
			}

			r = runCLI(t, nil, path...)
			checkUsageError(t, name, r)
			if !strings.Contains(r.stderr, first) {
				t.Errorf("%s: the error does not list the subcommands: %s", name, r.stderr)
			}
		})
	}
}

// TestLeafCommandsRejectStrayWords: no command silently ignores extra words.
// Ten words are more than any command takes.
func TestLeafCommandsRejectStrayWords(t *testing.T) {
	s, _, _ := output.TestStreams()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.HasSubCommands() || c.Name() == "help" {
			return
		}
		if strings.Contains(c.Use, "...") { // migrate lint [FILES...] takes any number of files
			return
		}
		args := append(pathArgs(c), strings.Fields("a1 a2 a3 a4 a5 a6 a7 a8 a9 a10")...)
		r := runCLI(t, nil, args...)
		checkUsageError(t, strings.Join(args, " "), r)
	}
	walk(newRootCmd(newDeps(s, func(string) string { return "" })))
}

func TestHelpTopicTypo(t *testing.T) {
	r := runCLI(t, nil, "help", "migrat")
	checkUsageError(t, "help migrat", r)
	if !strings.Contains(r.stderr, `did you mean "migrate"`) {
		t.Errorf("no suggestion: %s", r.stderr)
	}
	r = runCLI(t, nil, "help", "migrate", "upp")
	checkUsageError(t, "help migrate upp", r)
	if r := runCLI(t, nil, "help", "migrate", "up"); r.code != exitOK || !strings.Contains(r.stdout, "migrate up") {
		t.Errorf("help migrate up: %d %s", r.code, r.stderr)
	}
}

func TestParentHelpShowsNoBareUsageLine(t *testing.T) {
	r := runCLI(t, nil, "migrate", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "quantx-db migrate [command]") || strings.Contains(r.stdout, "quantx-db migrate [flags]") {
		t.Fatalf("migrate --help: %d\n%s", r.code, r.stdout)
	}
}

// TestFlagTypoSuggests: a mistyped flag names the one that was meant.
func TestFlagTypoSuggests(t *testing.T) {
	r := runCLI(t, nil, "status", "--exit-cod")
	checkUsageError(t, "status --exit-cod", r)
	if !strings.Contains(r.stderr, "did you mean --exit-code?") {
		t.Errorf("no suggestion: %s", r.stderr)
	}
}

// TestJSONErrorBeforeFlagsAreParsed: an unknown command or flag is found
// before -o is parsed; CI still gets the JSON error document.
func TestJSONErrorBeforeFlagsAreParsed(t *testing.T) {
	for _, args := range [][]string{
		{"-o", "json", "frobnicate"},
		{"frobnicate", "--output=json"},
		{"migrate", "up", "--bogus", "-o", "json"},
		{"migrate", "-ojson", "upp"},
		{"status", "--output", "json", "--exit-code=maybe"},
	} {
		r := runCLI(t, nil, args...)
		checkUsageError(t, strings.Join(args, " "), r)
		if doc := errorDocOf(t, r); doc.Error.ExitCode != exitUsage || doc.Error.Message == "" {
			t.Errorf("%v: %+v", args, doc)
		}
	}
	// Text output stays text: nothing on stdout.
	if r := runCLI(t, nil, "frobnicate"); r.stdout != "" {
		t.Errorf("text error printed on stdout: %q", r.stdout)
	}
}

func TestFormatFromArgs(t *testing.T) {
	for args, want := range map[string]output.Format{
		"-o json x":            output.FormatJSON,
		"x --output json":      output.FormatJSON,
		"x --output=json":      output.FormatJSON,
		"x -ojson":             output.FormatJSON,
		"x -o=json":            output.FormatJSON,
		"x -o yaml":            output.FormatText,
		"x -- -o json":         output.FormatText,
		"x -o json -o text":    output.FormatText,
		"x --database-url -o":  output.FormatText,
		"--log-level debug -o": output.FormatText,
	} {
		if got := formatFromArgs(strings.Fields(args)); got != want {
			t.Errorf("formatFromArgs(%q) = %s, want %s", args, got, want)
		}
	}
}
