package main

import (
	"context"

	"github.com/quantx/quantx-db/internal/output"
)

// run is the whole program: tests call it with buffers and a fake environment.
func run(ctx context.Context, args []string, s output.Streams, getenv func(string) string) int {
	d := newDeps(s, getenv)
	root := newRootCmd(d)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out) // --help goes to stdout, and into a test's buffer
	root.SetErr(s.Err)
	// reportError prints each error once, in one place (cobra #1708).
	root.SilenceErrors, root.SilenceUsage = true, true
	err := root.ExecuteContext(ctx)
	return d.reportError(ctx, err)
}
