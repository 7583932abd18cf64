package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// LockWait bounds how long WriteFile waits for another writer of the same
// file. A writer holds the lock for a read, a merge and a write of a few
// kilobytes: milliseconds.
const LockWait = 10 * time.Second

// ErrNotTextFormat is returned when the existing file cannot be parsed: it
// is left as it is rather than replaced by the series of one command.
var ErrNotTextFormat = errors.New("not in the Prometheus text format")

// WriteFile merges the series of the finished run into the textfile at path
// (node_exporter's textfile collector format) and replaces the file
// atomically: a temporary file in the same folder, renamed over it, so a
// scrape never reads half a file.
//
// The series of other commands in the file stay; those of this run's
// command are replaced (see Gauge.Kept). Concurrent writers (cron jobs that
// end at the same moment) take turns on an flock of the sidecar file
// path+".lock", held across read, merge and rename, so no writer loses
// another's update. The lock file stays: removing it would let two writers
// lock two different files. The wait is bounded by LockWait, also after ctx
// is cancelled: an interrupted run is recorded too.
func (r *Run) WriteFile(ctx context.Context, path string) error {
	if r.families == nil {
		return errors.New("metrics: WriteFile before Finish")
	}
	lock := flock.New(path+".lock", flock.SetPermissions(0o644))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), LockWait)
	defer cancel()
	locked, err := lock.TryLockContext(ctx, 5*time.Millisecond)
	if err != nil || !locked {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("another writer held it for %s", LockWait)
		}
		return fmt.Errorf("lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()

	old, err := ReadFile(path)
	if err != nil {
		return err
	}
	merged := merge(old, r.families, r.command, r.known)
	return prometheus.WriteToTextfile(path, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return merged, nil
	}))
}

// ReadFile parses a textfile; a missing or empty file has no families.
func ReadFile(path string) (map[string]*dto.MetricFamily, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*dto.MetricFamily{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("%s is %w, and was left as it is (%v): move it away", path, ErrNotTextFormat, err)
	}
	return fams, nil
}

// merge returns the families of old with the series of command replaced by
// those of run, sorted by name and, within a family, by labels.
//
// An old series of command is dropped unless its family is a kept one
// (known[name].Kept) and run has no series with the same labels. An old
// family that the program defines gets its current HELP text; one whose
// type differs from the run's loses its series (they could not be written
// in one family). Families of other programs in the same file stay as they
// are.
func merge(old map[string]*dto.MetricFamily, run []*dto.MetricFamily, command string, known map[string]Gauge) []*dto.MetricFamily {
	fresh := map[string]bool{} // identities of the run's series
	runType := map[string]dto.MetricType{}
	for _, mf := range run {
		runType[mf.GetName()] = mf.GetType()
		for _, m := range mf.GetMetric() {
			fresh[identity(mf.GetName(), m)] = true
		}
	}
	out := map[string]*dto.MetricFamily{}
	for name, mf := range old {
		g, ours := known[name]
		if t, ok := runType[name]; ok && t != mf.GetType() {
			continue
		}
		if ours && mf.GetType() != dto.MetricType_GAUGE {
			continue
		}
		keep := &dto.MetricFamily{Name: proto.String(name), Help: mf.Help, Type: mf.Type, Unit: mf.Unit}
		if ours {
			keep.Help = proto.String(g.Help)
		}
		for _, m := range mf.GetMetric() {
			if labelValue(m, CommandLabel) == command && (!g.Kept || fresh[identity(name, m)]) {
				continue
			}
			keep.Metric = append(keep.Metric, m)
		}
		if len(keep.Metric) > 0 {
			out[name] = keep
		}
	}
	for _, mf := range run {
		if o, ok := out[mf.GetName()]; ok {
			o.Metric = append(o.Metric, mf.GetMetric()...)
			o.Help = mf.Help
			continue
		}
		out[mf.GetName()] = proto.Clone(mf).(*dto.MetricFamily)
	}
	fams := make([]*dto.MetricFamily, 0, len(out))
	for _, mf := range out {
		for _, m := range mf.Metric {
			slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		}
		slices.SortFunc(mf.Metric, func(a, b *dto.Metric) int { return strings.Compare(labelKey(a), labelKey(b)) })
		fams = append(fams, mf)
	}
	slices.SortFunc(fams, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return fams
}

// identity is a series' name and label pairs.
func identity(name string, m *dto.Metric) string { return name + "{" + labelKey(m) + "}" }

// labelKey is a series' label pairs, sorted by name, as one string.
func labelKey(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"\xff"+l.GetValue())
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "\xfe")
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
