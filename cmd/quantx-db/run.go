package main

import (
	"context"
	"io"
	"time"

	"github.com/quantx/quantx-db/internal/output"
)

// run is the whole program: tests call it with buffers and a fake environment.
func run(ctx context.Context, args []string, s output.Streams, getenv func(string) string) int {
	start := time.Now() // wall clock for the metrics, even when QUANTX_NOW pins d.now
	d := newDeps(s, getenv)
	root := newRootCmd(d)
	root.SetArgs(args)
	root.SetIn(s.In)
	// Help and usage text are ours and static: cobra writes them unfiltered.
	// Everything else (results, logs, errors) goes through d.streams, which redact.
	root.SetOut(s.Out) // --help goes to stdout, and into a test's buffer
	root.SetErr(s.Err)
	if isCompletionRequest(args) {
		// Registered for the shell's TAB only: walking every command's flags
		// costs each other run about a tenth of its start-up.
		addCompletions(root, d)
		// Candidates on stdout and nothing else; cobra's own notes and errors
		// (which may quote the command line) are dropped.
		root.SetErr(io.Discard)
	}
	// reportError prints each error once, in one place (cobra #1708).
	root.SilenceErrors, root.SilenceUsage = true, true
	cmd, err := root.ExecuteContextC(ctx)
	if !d.formatSet {
		// The error came before the root's PersistentPreRunE parsed -o (an
		// unknown command or flag): read it from the arguments.
		d.format = formatFromArgs(args)
	}
	if cmd != nil {
		d.learnFlagSecrets(cmd.Flags())
	}
	code := d.reportError(ctx, err)
	d.recordRun(ctx, cmd, args, code, start) // --metrics-file, --metrics-push: after any command
	return code
}
