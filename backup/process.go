package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// tailBuffer keeps the last few KiB a tool wrote to stderr, for the error message.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, nil)))
}

// toolError is a tool that exited non-zero, with what it said on stderr.
type toolError struct {
	Tool   string
	Stderr string
	Err    error
}

func (e *toolError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%s: %v", e.Tool, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", e.Tool, e.Err, e.Stderr)
}

func (e *toolError) Unwrap() error { return e.Err }

// streamCmd is a running tool whose stdout is read as a stream. Reading returns the tool's failure
// instead of io.EOF when it exited non-zero, so a dump cut short never completes an upload.
type streamCmd struct {
	cmd    *exec.Cmd
	name   string
	out    io.ReadCloser
	stderr *tailBuffer
	waited bool
	err    error
}

// interruptGrace is how long a tool may take to exit after SIGINT before it is killed.
const interruptGrace = 5 * time.Second

// toolCommand is exec.CommandContext, except that a cancelled ctx interrupts the tool (SIGINT) instead of
// killing it. The PostgreSQL tools answer SIGINT by sending the server a cancel request for their running
// query before they exit; killed with SIGKILL, they leave a backend behind that keeps its locks, and
// keeps waiting in a lock queue if it was, until it next tries to talk to the dead client. A tool still
// running interruptGrace later is killed.
func toolCommand(ctx context.Context, name string, args []string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	return cmd
}

func startStream(ctx context.Context, name string, args []string, env []string) (*streamCmd, error) {
	cmd := toolCommand(ctx, name, args, env)
	s := &streamCmd{cmd: cmd, name: toolName(name), stderr: &tailBuffer{}}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	return s, nil
}

func (s *streamCmd) Read(p []byte) (int, error) {
	if s.waited { // Wait closed the pipe; readers may ask again after EOF
		if s.err != nil {
			return 0, s.err
		}
		return 0, io.EOF
	}
	n, err := s.out.Read(p)
	if errors.Is(err, io.EOF) {
		if werr := s.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// wait reaps the process once; after a failed upload it is killed first (Close).
func (s *streamCmd) wait() error {
	if s.waited {
		return s.err
	}
	s.waited = true
	if err := s.cmd.Wait(); err != nil {
		s.err = &toolError{Tool: s.name, Stderr: s.stderr.String(), Err: err}
	}
	return s.err
}

// Close stops the tool if it still runs (SIGINT, then SIGKILL after interruptGrace; see toolCommand) and
// reaps it.
func (s *streamCmd) Close() error {
	if !s.waited && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		kill := time.AfterFunc(interruptGrace, func() { s.cmd.Process.Kill() })
		defer kill.Stop()
	}
	return s.wait()
}

// runTool runs a tool to completion and returns its stdout.
func runTool(ctx context.Context, name string, args []string, env []string, stdin io.Reader) ([]byte, error) {
	cmd := toolCommand(ctx, name, args, env)
	cmd.Stdin = stdin
	var out bytes.Buffer
	tail := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &out, tail
	if err := cmd.Run(); err != nil {
		return out.Bytes(), &toolError{Tool: toolName(name), Stderr: tail.String(), Err: err}
	}
	return out.Bytes(), nil
}

func toolName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
