package metrics

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

var (
	testApplied = Gauge{Name: "test_applied", Help: "Applied by the last run."}
	testBackup  = Gauge{Name: "test_backup_timestamp_seconds", Help: "Newest backup.", Labels: []string{"database"}, Kept: true}
)

// write finishes a run of command and merges it into path.
func write(t *testing.T, path, command string, res Result, set func(*Run)) {
	t.Helper()
	r := NewRun(testApplied, testBackup)
	if set != nil {
		set(r)
	}
	start := time.Now()
	if err := r.Finish(command, res, start, start.Add(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(t.Context(), path); err != nil {
		t.Fatal(err)
	}
}

// value returns the value of the series name{labels} in the file, and whether it is there.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			match = match && labels[l.GetName()] == l.GetValue()
		}
		if match {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func read(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestMergeReplacesOnlyTheRunsCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quantx.prom")
	foreign := "# HELP other_job_up Another program's series.\n# TYPE other_job_up gauge\nother_job_up 1\n" +
		"# HELP test_applied An old help text.\n# TYPE test_applied gauge\ntest_applied{command=\"gone\"} 4\n"
	if err := os.WriteFile(path, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, path, "migrate up", Success, func(r *Run) {
		r.Set(testApplied, 9)
		r.Set(testBackup, 100, "a")
	})
	write(t, path, "backup postgres", Success, func(r *Run) { r.Set(testBackup, 200, "b") })
	fams := read(t, path)
	success, ok := value(t, fams, LastSuccess.Name, map[string]string{"command": "migrate up"})
	if !ok {
		t.Fatalf("no last success of migrate up:\n%v", fams)
	}

	// A failed run of migrate up: its run series are replaced (none of the figures it did not
	// report survive), its kept series stay, and so does every other command's.
	write(t, path, "migrate up", Failure, func(r *Run) { r.Set(testBackup, 150, "c") })
	fams = read(t, path)
	if v, ok := value(t, fams, LastSuccess.Name, map[string]string{"command": "migrate up"}); !ok || v != success {
		t.Errorf("last success after a failure: %v %v, want %v", v, ok, success)
	}
	if _, ok := value(t, fams, LastRun.Name, map[string]string{"command": "migrate up", "result": "success"}); ok {
		t.Error("the success series of the last run is still there after a failed run")
	}
	if _, ok := value(t, fams, LastRun.Name, map[string]string{"command": "migrate up", "result": "failure"}); !ok {
		t.Error("no failure series")
	}
	if _, ok := value(t, fams, testApplied.Name, map[string]string{"command": "migrate up"}); ok {
		t.Error("the figure of the successful run survived a run that did not report it")
	}
	for db, want := range map[string]float64{"a": 100, "c": 150} {
		if v, ok := value(t, fams, testBackup.Name, map[string]string{"command": "migrate up", "database": db}); !ok || v != want {
			t.Errorf("kept series for database %s: %v %v, want %v", db, v, ok, want)
		}
	}
	if v, ok := value(t, fams, testBackup.Name, map[string]string{"command": "backup postgres", "database": "b"}); !ok || v != 200 {
		t.Errorf("the other command's series: %v %v", v, ok)
	}
	if v, ok := value(t, fams, Duration.Name, map[string]string{"command": "backup postgres"}); !ok || v != 1.5 {
		t.Errorf("duration of backup postgres: %v %v", v, ok)
	}
	if _, ok := value(t, fams, "other_job_up", map[string]string{}); !ok {
		t.Error("another program's series was dropped")
	}
	if v, ok := value(t, fams, testApplied.Name, map[string]string{"command": "gone"}); !ok || v != 4 {
		t.Error("a series of a command that did not run was dropped")
	}
	if h := fams[testApplied.Name].GetHelp(); h != testApplied.Help {
		t.Errorf("help %q: the program's own families get the current text", h)
	}
}

func TestWriteFileLeavesAForeignFileAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "quantx.prom")
	garbage := "this is { not the text format\n"
	if err := os.WriteFile(path, []byte(garbage), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewRun()
	if err := r.Finish("version", Success, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(t.Context(), path); !errors.Is(err, ErrNotTextFormat) {
		t.Fatalf("err %v, want ErrNotTextFormat", err)
	}
	if b, _ := os.ReadFile(path); string(b) != garbage {
		t.Fatalf("the file was changed: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if name := e.Name(); name != "quantx.prom" && name != "quantx.prom.lock" {
			t.Errorf("left in the folder: %s", name)
		}
	}
}

func TestSetWithWrongLabelsFailsFinish(t *testing.T) {
	r := NewRun(testBackup)
	r.Set(testBackup, 1) // no database label value
	r.Set(Gauge{Name: "test_unknown", Help: "x"}, 1)
	err := r.Finish("x", Success, time.Now(), time.Now())
	if err == nil || !strings.Contains(err.Error(), testBackup.Name) || !strings.Contains(err.Error(), "test_unknown") {
		t.Fatalf("err %v", err)
	}
	// The run's own series are still there to write.
	var names []string
	for _, mf := range r.Families() {
		names = append(names, mf.GetName())
	}
	if fmt.Sprint(names) != fmt.Sprint([]string{LastRun.Name, LastSuccess.Name, Duration.Name}) {
		t.Fatalf("families %v", names)
	}
}

func TestAddAccumulates(t *testing.T) {
	r := NewRun(testBackup)
	r.Add(testBackup, 2, "a")
	r.Add(testBackup, 3, "a")
	if err := r.Finish("x", Success, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	fams := map[string]*dto.MetricFamily{}
	for _, mf := range r.Families() {
		fams[mf.GetName()] = mf
	}
	if v, ok := value(t, fams, testBackup.Name, map[string]string{"command": "x", "database": "a"}); !ok || v != 5 {
		t.Fatalf("%v %v, want 5", v, ok)
	}
}
