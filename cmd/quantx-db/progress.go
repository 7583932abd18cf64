package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/quantx/quantx-db/internal/progress"
)

// progressLogEvery is how often a running phase is logged under
// --log-format json (besides its start and its end): often enough to see a
// restore is alive, rarely enough to keep cron's logs short.
const progressLogEvery = 10 * time.Second

// progressSink is the one place that shows the progress the libraries report
// (progress.Func): bars on a terminal with text logs (vbauerster/mpb), info
// records "progress" with --log-format json, nothing otherwise (cron mail
// stays short). It is made by the root command once the log flags are known.
//
// mpb rather than schollz/progressbar: several bars at once (a backup's upload
// beside its row counts, pg_restore beside nothing else), log lines printed
// above the bars instead of through them (Progress.Write), and a container
// that finishes every bar and leaves the cursor at the start of a line.
type progressSink struct {
	mu     sync.Mutex
	bars   bool // else log records
	log    *slog.Logger
	logOut *switchWriter // the logger's writer: through the bars while they are drawn
	out    io.Writer     // where bars go (stderr, redacted)
	term   int           // stderr's file descriptor, for the terminal's width
	p      *mpb.Progress // nil until the first bar, and after stop
	phases map[phaseKey]*phase
}

type phaseKey struct{ phase, subject string }

type phase struct {
	bar     *mpb.Bar
	total   int64
	item    atomic.Pointer[string] // read by the bar's decorator, which must not take progressSink.mu (see addBar)
	start   time.Time
	lastLog time.Time
	ended   atomic.Bool
	unit    atomic.Pointer[progress.Unit] // may change during a phase (an index build: blocks, then tuples)
}

// switchWriter is the logger's output. While bars are drawn, log lines go
// through the bar container, which prints them above the bars instead of
// through them.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

// newProgressSink decides how progress is shown: log records with JSON logs,
// bars when stderr is a terminal, else nothing (nil).
func newProgressSink(d *deps, logFormat string, lg *slog.Logger) *progressSink {
	s := &progressSink{log: lg, logOut: d.logOut, out: d.streams.Err, phases: map[phaseKey]*phase{}}
	switch {
	case logFormat == "json":
		return s
	case d.streams.ErrTerm != nil:
		cw := cupwriter.New(io.Discard, false)
		cw.SetTermFd(int(d.streams.ErrTerm.Fd()))
		if !cw.IsTerminal() {
			return nil
		}
		s.bars, s.term = true, int(d.streams.ErrTerm.Fd())
		return s
	}
	return nil
}

// progress returns what libraries report progress to: nil when nothing is
// shown, so that they skip the work of measuring it.
func (d *deps) progress() progress.Func {
	if d.prog == nil {
		return nil
	}
	return d.prog.report
}

// stopProgress finishes the bars before anything else is written to the
// terminal (a result, an error, a question): bars redraw by moving the cursor
// up, which would overwrite lines written beside them.
func (d *deps) stopProgress() {
	if d.prog != nil {
		d.prog.stop()
	}
}

func (s *progressSink) report(ev progress.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := phaseKey{ev.Phase, ev.Subject}
	ph := s.phases[k]
	if ph == nil || ph.ended.Load() {
		ph = &phase{start: time.Now()}
		s.phases[k] = ph
		if s.bars {
			s.addBar(ph, ev)
		}
	}
	if ev.Item != "" {
		ph.item.Store(&ev.Item)
	}
	if !s.bars {
		s.logEvent(ph, ev)
		ph.ended.Store(ev.End)
		return
	}
	if ph.bar == nil {
		return
	}
	if ev.Unit != "" {
		ph.unit.Store(&ev.Unit)
	}
	if ev.Total > 0 && ev.Total != ph.total {
		ph.total = ev.Total
		ph.bar.SetTotal(ev.Total, false)
	}
	ph.bar.SetCurrent(ev.Done)
	if ev.End {
		ph.ended.Store(true)
		ph.bar.SetTotal(-1, true) // complete at the count reached, whatever the total said
	}
}

// addBar draws a new phase. Every bar is made with total 0, which mpb never
// completes by itself: a total may grow or change unit on the way (an index
// build goes from table blocks to tuples), so only the phase's End completes
// it, at the count reached. The total shown is set with SetTotal(_, false).
func (s *progressSink) addBar(ph *phase, ev progress.Event) {
	if s.p == nil {
		cw := cupwriter.New(s.out, false)
		cw.SetTermFd(s.term)
		s.p = mpb.New(mpb.WithConsoleWriter(cw), mpb.WithRefreshRate(150*time.Millisecond))
		s.logOut.set(s.p) // log lines now print above the bars
	}
	name := ev.Phase
	if ev.Subject != "" {
		name += " " + ev.Subject
	}
	ph.unit.Store(&ev.Unit)
	// The bar's goroutine calls these while report, holding s.mu, may be
	// waiting for that goroutine: they read atomics only.
	item := decor.Any(func(decor.Statistics) string {
		if it := ph.item.Load(); it != nil && !ph.ended.Load() {
			return *it
		}
		return ""
	})
	var counts decor.Decorator
	switch {
	case ev.Unit == progress.Bytes && ev.Total > 0:
		counts = decor.Counters(decor.SizeB1024(0), "% .1f / % .1f", decor.WCSyncSpace)
	case ev.Unit == progress.Bytes:
		counts = decor.Current(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace)
	default:
		counts = decor.Any(func(st decor.Statistics) string {
			unit := string(*ph.unit.Load())
			if st.Total > 0 {
				return fmt.Sprintf("%d / %d %s", st.Current, st.Total, unit)
			}
			return fmt.Sprintf("%d %s", st.Current, unit)
		}, decor.WCSyncSpace)
	}
	// A finished phase leaves the screen (the result printed next says what was done); one cut
	// short by an error stays where it stopped (stop aborts it without dropping it).
	opts := []mpb.BarOption{mpb.BarRemoveOnComplete(), mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), counts)}
	if ev.Total > 0 {
		opts = append(opts, mpb.AppendDecorators(
			decor.Percentage(decor.WC{W: 5}),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WC{W: 8}), "   done"),
			item))
		ph.bar = s.p.AddBar(0, opts...)
		ph.total = ev.Total
		ph.bar.SetTotal(ev.Total, false)
		return
	}
	speed := decor.Name("")
	if ev.Unit == progress.Bytes {
		speed = decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WC{W: 12})
	}
	opts = append(opts, mpb.AppendDecorators(speed, decor.OnComplete(decor.Elapsed(decor.ET_STYLE_GO, decor.WC{W: 8}), "   done"), item))
	ph.bar = s.p.New(0, mpb.SpinnerStyle(), opts...)
}

// logEvent writes a phase's start, its end, and one record every
// progressLogEvery in between.
func (s *progressSink) logEvent(ph *phase, ev progress.Event) {
	now := time.Now()
	first := ph.lastLog.IsZero()
	if !first && !ev.End && now.Sub(ph.lastLog) < progressLogEvery {
		return
	}
	ph.lastLog = now
	attrs := []slog.Attr{slog.String("phase", ev.Phase)}
	if ev.Subject != "" {
		attrs = append(attrs, slog.String("subject", ev.Subject))
	}
	attrs = append(attrs, slog.String("unit", string(ev.Unit)), slog.Int64("done", ev.Done))
	elapsed := now.Sub(ph.start)
	if ev.Total > 0 {
		attrs = append(attrs, slog.Int64("total", ev.Total), slog.Float64("percent", float64(int(1000*float64(ev.Done)/float64(ev.Total)))/10))
		if ev.Done > 0 && !ev.End && ev.Done < ev.Total {
			eta := time.Duration(float64(elapsed) * float64(ev.Total-ev.Done) / float64(ev.Done))
			attrs = append(attrs, slog.Float64("eta_seconds", eta.Round(time.Second).Seconds()))
		}
	}
	if it := ph.item.Load(); it != nil && !ev.End {
		attrs = append(attrs, slog.String("item", *it))
	}
	attrs = append(attrs, slog.Float64("elapsed_seconds", elapsed.Round(time.Millisecond).Seconds()), slog.Bool("end", ev.End))
	// A progress event has no context (the libraries report from deep inside
	// their work); the record is the command's, at info level.
	args := make([]any, len(attrs))
	for i, a := range attrs {
		args[i] = a
	}
	s.log.Info("progress", args...)
}

// stop completes every bar still drawn (a phase cut short by an error stays
// where it stopped) and waits for the last frame, leaving the cursor at the
// start of the line after the bars.
func (s *progressSink) stop() {
	s.mu.Lock()
	p := s.p
	s.p = nil
	for _, ph := range s.phases {
		if ph.bar != nil && !ph.ended.Load() {
			ph.ended.Store(true)
			ph.bar.Abort(false)
		}
	}
	s.phases = map[phaseKey]*phase{}
	s.mu.Unlock()
	if p == nil {
		return
	}
	s.logOut.set(s.out)
	p.Wait()
}
