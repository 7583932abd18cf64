package stack

import (
	"errors"
	"testing"

	"github.com/quantx/quantx-db/internal/report"
)

// TestReportAddsUp: the totals of a report follow its lines' severities, and
// Err keeps every failure as a value.
func TestReportAddsUp(t *testing.T) {
	refused, denied := errors.New("refused"), errors.New("denied")
	var r Report
	r.add(Item{State: report.StateOK}, Item{State: report.StateSkipped}, Item{State: report.StateWarn})
	if r.NeedsAction || r.Errors || r.Problems != 0 {
		t.Fatalf("ok, skipped and warn: %+v", r)
	}
	r.add(Item{State: report.StateAction}, errorItem(Postgres, "connect", refused), errorItem(S3, "backups", denied))
	if !r.NeedsAction || !r.Errors || r.Problems != 3 {
		t.Fatalf("action and two errors: %+v", r)
	}
	err := r.Err()
	se, ok := errors.AsType[*StoreError](err)
	if !errors.Is(err, refused) || !errors.Is(err, denied) || !ok || se.Store != Postgres {
		t.Fatalf("Err: %v", err)
	}
}

// TestOutcomeSeverity: a change provision made is fine, a planned one asks
// for a run, a failure is an error.
func TestOutcomeSeverity(t *testing.T) {
	for o, want := range map[Outcome]report.Severity{
		StatusUnchanged: report.SeverityOK, StatusChanged: report.SeverityOK, StatusSkipped: report.SeveritySkipped,
		StatusPlanned: report.SeverityAction, StatusFailed: report.SeverityError,
	} {
		if got := o.Severity(); got != want {
			t.Errorf("%s: %s, want %s", o, got, want)
		}
	}
}

// TestStoreResultKeepsItsError: the failure of a store stays reachable for
// exit codes and hints, and JSON shows its message.
func TestStoreResultKeepsItsError(t *testing.T) {
	cause := errors.New("lock held")
	r := StoreResult{Store: Postgres}
	r.fail(cause)
	if !errors.Is(r.Err(), cause) || r.Status != StatusFailed {
		t.Fatalf("%+v", r)
	}
	if b, _ := r.Error.MarshalText(); string(b) != "postgres: lock held" {
		t.Errorf("text %q", b)
	}
}
