package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/output"
)

// deps is everything a command may touch besides its own flags. run builds
// the real one; tests reach it through run with buffers and a test server.
type deps struct {
	streams  output.Streams   // Out and Err redact every secret known to redactor
	rawOut   io.Writer        // stdout unredacted: for renderCredentials only
	redactor *config.Redactor // every configured or typed-in secret, for streams and logs
	getenv   func(string) string
	now      func() time.Time // partition names depend on it; tests pin it via QUANTX_NOW
	metrics  *runMetrics      // the figures of this run, for --metrics-file and --metrics-push

	// Filled by the root command's PersistentPreRunE from the global flags.
	format    output.Format
	formatSet bool // format comes from the parsed -o flag
	logger    *slog.Logger
	logOut    *switchWriter // the logger's writer: stderr, or the progress bars while they are drawn
	prog      *progressSink // nil: progress is not shown
	flags     *pflag.FlagSet
	rendered  bool // a result document was written to Out
	assumeYes bool

	cfgOnce sync.Once
	cfg     config.Config
	cfgErr  error
}

func newDeps(s output.Streams, getenv func(string) string) *deps {
	red := &config.Redactor{}
	rawOut := s.Out
	s.Out, s.Err = red.Writer(s.Out), red.Writer(s.Err)
	d := &deps{streams: s, rawOut: rawOut, redactor: red, getenv: getenv, format: output.FormatText, now: time.Now,
		logOut: &switchWriter{w: s.Err}, metrics: newRunMetrics()}
	d.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if v := getenv("QUANTX_NOW"); v != "" { // documented for tests and demos of month rollover
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			d.now = func() time.Time { return t }
		}
	}
	return d
}

// config resolves the connection settings once, on first use, so commands
// that need none (version, completion) never read a file or the environment.
func (d *deps) config() (config.Config, error) {
	d.cfgOnce.Do(func() {
		d.cfg, d.cfgErr = config.Resolve(d.flags, d.getenv)
		// Even a failed Resolve returns what it read: its message may quote it.
		d.redactor.Add(d.cfg.Secrets()...)
		if d.cfgErr != nil {
			d.cfgErr = usageErr(d.cfgErr, "check the flag, the QUANTX_* variable or the config file it names")
		}
	})
	return d.cfg, d.cfgErr
}

// render writes a command's result through the one renderer.
func (d *deps) render(v any, view func() output.Table) error {
	d.stopProgress()
	d.rendered = true
	return output.Render(d.streams, d.format, v, view)
}

// renderCredentials renders a result whose purpose is to hand credentials
// over: the export lines of 'testenv up' and 'testenv env', for the
// throwaway stack the user asked for ("eval $(quantx-db testenv up)"). It is
// the one output that is not redacted; grep for it in review.
func (d *deps) renderCredentials(v any, view func() output.Table) error {
	d.rendered = true
	s := d.streams
	s.Out = d.rawOut
	return output.Render(s, d.format, v, view)
}

// newLogger builds the stderr logger from --log-level and --log-format. Every
// record, at every level, is redacted before it is formatted. Success is
// quiet: the level is warn unless asked (-v, --log-level), except with JSON
// logs, which are read by programs (cron, CI) and get info, progress included.
func newLogger(w io.Writer, red *config.Redactor, level, format string) (*slog.Logger, error) {
	if level == "" {
		level = "warn"
		if strings.EqualFold(format, "json") {
			level = "info"
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json": // cron and CI: one JSON object per line
		return slog.New(red.Handler(slog.NewJSONHandler(w, opts))), nil
	case "text":
		return slog.New(red.Handler(slog.NewTextHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// confirm asks a yes/no question on a terminal. Without a terminal it returns
// false: cron and CI must say --yes explicitly.
func (d *deps) confirm(ctx context.Context, question string) bool {
	if d.assumeYes {
		return true
	}
	if !d.streams.OutTTY {
		return false
	}
	d.stopProgress()
	fmt.Fprintf(d.streams.Err, "%s [y/N] ", question)
	var answer string
	done := make(chan struct{})
	go func() { fmt.Fscanln(d.streams.In, &answer); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return false
	}
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}

// setConfig replaces the resolved settings: testenv up provisions the stack
// it started, not the one the caller's flags name.
func (d *deps) setConfig(c config.Config) {
	d.cfgOnce.Do(func() {})
	d.cfg, d.cfgErr = c, nil
	d.redactor.Add(c.Secrets()...)
}
