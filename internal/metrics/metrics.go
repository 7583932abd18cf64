// Package metrics records what one quantx-db command did as Prometheus
// gauges, and hands them to monitoring the two ways batch jobs do: a
// node_exporter textfile that every command merges its series into, so that
// one file serves every cron job (WriteFile), and a push to a Pushgateway
// (Push).
//
// The store packages know nothing of it: the CLI reads their reports and sets
// the figures on the Run of the command, then finishes the Run with the
// command's result. Every series carries the label "command" (the command
// path without the program name, "retention apply"), so that a run replaces
// the series of its own command and no other.
package metrics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Gauge describes one family of series: a Prometheus gauge whose labels are
// "command" followed by Labels. Batch jobs export gauges: each value is what
// the last run did or saw, not a running total.
type Gauge struct {
	Name   string
	Help   string
	Labels []string
	// Kept series outlive the runs of their command that do not report
	// them: a run replaces a kept series only with one of the same labels.
	// The newest backup of database A stays known while database B is
	// backed up, and the last success stays known through failed runs. The
	// other series are those of the command's last run, all replaced by
	// each run (a failed run that did nothing leaves none).
	Kept bool
}

// Result is the outcome of a run, one per exit code of the CLI.
type Result string

// The results, in the order of the exit codes 0, 1, 2, 3, 4 and 130.
const (
	Success     Result = "success"
	Failure     Result = "failure"
	Usage       Result = "usage"
	Check       Result = "check"
	Locked      Result = "locked"
	Interrupted Result = "interrupted"
)

// The series of every run, set by Finish.
var (
	LastRun = Gauge{Name: "quantx_db_last_run_timestamp_seconds",
		Help:   "Unix time the last run of the command ended, labelled with its result (success, failure, usage, check, locked or interrupted: exit codes 0, 1, 2, 3, 4, 130).",
		Labels: []string{"result"}}
	LastSuccess = Gauge{Name: "quantx_db_last_success_timestamp_seconds",
		Help: "Unix time the last successful run (exit code 0) of the command ended; kept through failed runs.",
		Kept: true}
	Duration = Gauge{Name: "quantx_db_run_duration_seconds",
		Help: "Wall-clock duration of the last run of the command, in seconds."}
)

// Run collects the series of one command run. Set and Add may be called any
// number of times before Finish; a series set twice keeps the last value.
type Run struct {
	known   map[string]Gauge // every family the program defines: decides whether an old series is kept
	samples map[string]*sample
	order   []string // sample keys in the order first set, for stable output
	errs    []error

	command  string
	result   Result
	families []*dto.MetricFamily
}

type sample struct {
	g      Gauge
	labels []string
	value  float64
}

// NewRun starts collecting. catalogue lists every Gauge the program may set,
// in any run: WriteFile needs it to know which series of an existing file
// are kept ones. The series of Finish are always known.
func NewRun(catalogue ...Gauge) *Run {
	r := &Run{known: map[string]Gauge{}, samples: map[string]*sample{}}
	for _, g := range append([]Gauge{LastRun, LastSuccess, Duration}, catalogue...) {
		r.known[g.Name] = g
	}
	return r
}

// Set sets the series of g with the given label values (in the order of
// g.Labels) to v.
func (r *Run) Set(g Gauge, v float64, labels ...string) {
	if s := r.sample(g, labels); s != nil {
		s.value = v
	}
}

// Add adds v to the series of g with the given label values; a series not
// set before starts at 0.
func (r *Run) Add(g Gauge, v float64, labels ...string) {
	if s := r.sample(g, labels); s != nil {
		s.value += v
	}
}

func (r *Run) sample(g Gauge, labels []string) *sample {
	if len(labels) != len(g.Labels) {
		r.errs = append(r.errs, fmt.Errorf("%s: %d label value(s) for labels %v", g.Name, len(labels), g.Labels))
		return nil
	}
	if _, ok := r.known[g.Name]; !ok {
		r.errs = append(r.errs, fmt.Errorf("%s: not in the catalogue given to NewRun", g.Name))
		return nil
	}
	key := g.Name + "\xff" + strings.Join(labels, "\xff")
	s, ok := r.samples[key]
	if !ok {
		s = &sample{g: g, labels: slices.Clone(labels)}
		r.samples[key] = s
		r.order = append(r.order, key)
	}
	return s
}

// Finish ends the run of command with its result: it adds the run series
// (last run, duration, and the last success when res is Success) and checks
// every series through a client_golang registry. WriteFile and Push need a
// finished run. A Set or Add that did not fit its Gauge is reported here,
// and the other series are kept (Families is then not nil): one wrong figure
// must not hide the result of the run.
func (r *Run) Finish(command string, res Result, start, end time.Time) error {
	if command == "" {
		return errors.New("metrics: a run needs a command")
	}
	r.Set(LastRun, seconds(end), string(res))
	r.Set(Duration, end.Sub(start).Seconds())
	if res == Success {
		r.Set(LastSuccess, seconds(end))
	}
	reg := prometheus.NewRegistry()
	vecs := map[string]*prometheus.GaugeVec{}
	for _, key := range r.order {
		s := r.samples[key]
		v, ok := vecs[s.g.Name]
		if !ok {
			v = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: s.g.Name, Help: s.g.Help}, append([]string{CommandLabel}, s.g.Labels...))
			if err := reg.Register(v); err != nil {
				return fmt.Errorf("metrics: %s: %w", s.g.Name, err)
			}
			vecs[s.g.Name] = v
		}
		g, err := v.GetMetricWithLabelValues(append([]string{command}, s.labels...)...)
		if err != nil {
			return fmt.Errorf("metrics: %s: %w", s.g.Name, err)
		}
		g.Set(s.value)
	}
	fams, err := reg.Gather() // sorted by name, series by label values
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	r.command, r.result, r.families = command, res, fams
	return errors.Join(r.errs...)
}

// CommandLabel is the label every series has.
const CommandLabel = "command"

// Families returns the series of the finished run, sorted by name.
func (r *Run) Families() []*dto.MetricFamily { return r.families }

// seconds is t as Unix seconds, with sub-second precision.
func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
