package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quantx/quantx-db/internal/output"
)

// cliResult is what one in-process invocation of the CLI produced.
type cliResult struct {
	code   int
	stdout string
	stderr string
}

// runCLI runs the program in-process through run(), with only the given
// environment (never the test process's own), and returns exit code and output.
func runCLI(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	s, out, errOut := output.TestStreams()
	code := run(t.Context(), args, s, func(k string) string { return env[k] })
	return cliResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds quantx-db once per test run, for tests that need real
// processes (concurrent runners, kill -9).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quantx-db-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "quantx-db")
		cmd := exec.CommandContext(context.Background(), "go", "build", "-o", binPath, ".")
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("build quantx-db: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
