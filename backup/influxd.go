package backup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// influxV1 backs up and restores InfluxDB 1.x with influxd backup|restore -portable, which speak
// to the server's RPC address (default port 8088). A restore waits until the server has loaded every
// shard (shardLoads). The HTTP client is optional: with it the database's existence is checked first
// and a restore also waits until every retention policy answers.
type influxV1 struct {
	rpc          string
	rpcTimeout   time.Duration
	influxd      string
	client       *influxclient.Client // nil without a URL
	readyTimeout time.Duration
	log          *slog.Logger
}

func (e *influxV1) format() string { return "tar.gz of influxd backup -portable" }

func (e *influxV1) bin() string {
	if e.influxd == "" {
		return "influxd"
	}
	return e.influxd
}

func (e *influxV1) timeout() time.Duration {
	if e.rpcTimeout <= 0 {
		return 15 * time.Second
	}
	return e.rpcTimeout
}

func (e *influxV1) tool(ctx context.Context) (string, error) {
	out, err := runTool(ctx, e.bin(), []string{"version"}, nil, nil)
	if err != nil {
		return "", fmt.Errorf("%w (%w)", ErrToolMissing, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (e *influxV1) exists(ctx context.Context, database string) (found, known bool, err error) {
	if e.client == nil {
		return false, false, nil // without the HTTP API influxd's own error has to do
	}
	series, err := e.client.Query(ctx, influxclient.Query{Statement: "SHOW DATABASES", Retry: true})
	if err != nil {
		return false, false, err
	}
	for _, s := range series {
		for _, row := range s.Values {
			if name, _ := s.Col(row, "name").(string); name == database {
				return true, true, nil
			}
		}
	}
	return false, true, nil
}

func (e *influxV1) backup(ctx context.Context, o InfluxBackup, dir string) error {
	args := []string{"backup", "-portable", "-db", o.Database, "-host", e.rpc}
	if !o.Start.IsZero() {
		args = append(args, "-start", o.Start.UTC().Format(time.RFC3339), "-end", o.End.UTC().Format(time.RFC3339))
	}
	err := e.run(ctx, append(args, dir))
	if te, ok := errors.AsType[*toolError](err); ok && e.client == nil && strings.Contains(te.Stderr, "backup failed: EOF") {
		// What influxd 1.8 says when the database does not exist; with the HTTP API it was checked before.
		return fmt.Errorf("%w: influxd backup ended with EOF, which is what it does when database %s does not exist: %w", ErrNoDatabase, o.Database, err)
	}
	return err
}

// restore runs influxd restore through a relay that sees the server finish loading each shard (see
// shardLoads), waits until it has loaded every shard of the backup and, with the HTTP API, until
// every retention policy of target answers a query that reads all its shards.
func (e *influxV1) restore(ctx context.Context, m Manifest, dir, target string) error {
	want, err := backupShards(dir, m.Database)
	if err != nil {
		return err
	}
	loads, err := relayShardLoads(e.rpc, e.timeout())
	if err != nil {
		return err
	}
	defer loads.close()
	args := []string{"restore", "-portable", "-host", loads.addr(), "-db", m.Database}
	if target != m.Database {
		args = append(args, "-newdb", target)
	}
	if err := e.run(ctx, append(args, dir)); err != nil {
		if derr := loads.dialErr(); derr != nil && ctx.Err() == nil {
			return &rpcError{addr: e.rpc, timeout: e.timeout(), err: derr}
		}
		return err
	}
	deadline := time.Now().Add(e.readyWait())
	e.log.InfoContext(ctx, "influxd restore finished; waiting for the server to load the shards", "database", target, "shards", want)
	if err := loads.wait(ctx, want, time.Until(deadline)); err != nil {
		return err
	}
	if e.client != nil {
		return e.answers(ctx, target, deadline)
	}
	return nil
}

// readyWait bounds how long a restore waits for the server to load the shards after influxd
// restore has exited, and for them to answer.
func (e *influxV1) readyWait() time.Duration {
	if e.readyTimeout <= 0 {
		return 5 * time.Minute
	}
	return e.readyTimeout
}

// run checks that the RPC address accepts a connection, then runs influxd and stops it when it makes
// no progress for the RPC timeout. influxd retries a failed RPC call for minutes, writing only
// "Waiting ... and retrying" lines, and waits forever on a peer that accepts and never answers: a
// cron job must fail in bounded time and say which address is wrong instead.
func (e *influxV1) run(ctx context.Context, args []string) error {
	timeout := e.timeout()
	if err := DialInfluxRPC(ctx, e.rpc, timeout); err != nil {
		return err
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(rctx, e.bin(), args...)
	out := &influxdOutput{tail: &tailBuffer{}}
	cmd.Stderr, cmd.Stdout = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start influxd: %w", err)
	}
	stalled := make(chan struct{})
	done := make(chan struct{})
	go func() {
		// Progress is any output but a retry notice, or bytes the process read or wrote besides its
		// output (shard files downloaded or uploaded, /proc/<pid>/io on Linux).
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		lines, hwm := out.progress(cmd.Process.Pid)
		lastAt := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			l, n := out.progress(cmd.Process.Pid)
			// Retry notices reach wchar a moment before Write counts them: only I/O beyond a few
			// KiB past the high-water mark is taken for progress.
			if l != lines || n > hwm+4096 {
				lines, hwm, lastAt = l, max(hwm, n), time.Now()
			} else if time.Since(lastAt) > timeout {
				close(stalled)
				cancel()
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	select {
	case <-stalled:
		return &rpcError{addr: e.rpc, timeout: timeout, stalled: true, last: out.lastLine()}
	default:
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &toolError{Tool: "influxd", Stderr: out.tail.String(), Err: err}
	}
	return nil
}

// DialInfluxRPC checks that an InfluxDB 1.x backup/restore address accepts a TCP connection within
// timeout (0: 15s). The error wraps ErrRPCUnreachable.
func DialInfluxRPC(ctx context.Context, addr string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if addr == "" {
		return fmt.Errorf("%w: no address given", ErrRPCUnreachable)
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &rpcError{addr: addr, timeout: timeout, err: err}
	}
	return conn.Close()
}

// rpcError is an RPC address that did not answer, or an influxd that made no progress talking to it.
type rpcError struct {
	addr    string
	timeout time.Duration
	stalled bool
	last    string // influxd's last line, for a stall
	err     error  // the dial error
}

func (e *rpcError) Error() string {
	if e.stalled {
		msg := fmt.Sprintf("%s %s: influxd made no progress for %s", ErrRPCUnreachable, e.addr, e.timeout)
		if e.last != "" {
			msg += " (last: " + e.last + ")"
		}
		return msg
	}
	return fmt.Sprintf("%s %s within %s: %v", ErrRPCUnreachable, e.addr, e.timeout, e.err)
}

func (e *rpcError) Unwrap() []error {
	if e.err != nil {
		return []error{ErrRPCUnreachable, e.err}
	}
	return []error{ErrRPCUnreachable}
}

// influxdOutput collects influxd's output: its tail for errors, and how much of it is progress.
type influxdOutput struct {
	mu      sync.Mutex
	tail    *tailBuffer
	partial []byte
	bytes   int64 // all output bytes
	lines   int64 // lines that are not retry notices
	last    string
}

func (o *influxdOutput) Write(p []byte) (int, error) {
	o.tail.Write(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytes += int64(len(p))
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
		if line == "" {
			continue
		}
		o.last = line
		if !strings.Contains(line, "retrying") {
			o.lines++
		}
	}
	return len(p), nil
}

func (o *influxdOutput) lastLine() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// progress returns the lines of output that are not retry notices, and the bytes influxd read and
// wrote besides its output.
func (o *influxdOutput) progress(pid int) (lines, ioBytes int64) {
	o.mu.Lock()
	lines, outBytes := o.lines, o.bytes
	o.mu.Unlock()
	return lines, procIO(pid) - outBytes
}

// procIO is the bytes pid read and wrote (rchar + wchar), or 0 where /proc has no io file.
func procIO(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		if k == "rchar" || k == "wchar" {
			x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			n += x
		}
	}
	return n
}

// probeMeasurement is a measurement no one writes. SELECT * FROM it asks every shard of the retention
// policy for its fields (each shard answers only once it is open and enabled) and reads no series,
// where a SELECT from the real measurements would open a cursor on every series.
const probeMeasurement = "quantx_db_restore_probe"

// answers checks that every shard of every retention policy of db answers a query. After the server
// has loaded every shard that is the case at once; "shard is disabled" and "engine is closed" are
// retried until deadline all the same.
func (e *influxV1) answers(ctx context.Context, db string, deadline time.Time) error {
	series, err := e.client.Query(ctx, influxclient.Query{Statement: "SHOW RETENTION POLICIES ON " + influxclient.QuoteIdent(db), Retry: true})
	if err != nil {
		return err
	}
	for _, s := range series {
		for _, row := range s.Values {
			rp, _ := s.Col(row, "name").(string)
			q := influxclient.Query{DB: db, Statement: "SELECT * FROM " + influxclient.QuoteIdent(db) + "." + influxclient.QuoteIdent(rp) + "." + influxclient.QuoteIdent(probeMeasurement), Retry: true}
			for {
				_, err := e.client.Query(ctx, q)
				if err == nil {
					break
				}
				if !transientRestoreError(err) {
					return err
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%w: retention policy %s of %s: %w", ErrInfluxNotReady, rp, db, err)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(250 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

// transientRestoreError matches what 1.8 answers while restored shards are being opened.
func transientRestoreError(err error) bool {
	qe, ok := errors.AsType[*influxclient.QueryError](err)
	return ok && (strings.Contains(qe.Message, "shard is disabled") || strings.Contains(qe.Message, "engine is closed"))
}
