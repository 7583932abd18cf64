package report

import (
	"encoding/json"
	"errors"
	"io/fs"
	"testing"
)

func TestEveryStateHasItsSeverity(t *testing.T) {
	want := map[State]Severity{
		StateOK: SeverityOK, StateApplied: SeverityOK, StateSkipped: SeveritySkipped, StateWarn: SeverityWarn,
		StateAction: SeverityAction, StatePending: SeverityAction, StateDirty: SeverityAction, StateRunning: SeverityAction,
		StateInvalidIndex: SeverityAction, StateUnknownApplied: SeverityAction, StateMissing: SeverityAction,
		StateDrift: SeverityAction, StateChanged: SeverityAction, StateReindexRequired: SeverityAction,
		StateReindexInterrupted: SeverityAction, StateStale: SeverityAction, StateError: SeverityError,
	}
	if len(States()) != len(want) {
		t.Errorf("%d states, want %d", len(States()), len(want))
	}
	for s, sev := range want {
		if got := s.Severity(); got != sev {
			t.Errorf("%s: severity %s, want %s", s, got, sev)
		}
	}
	// A pending change is never fine, and an unknown word is never fine either.
	if StateChanged.Severity() <= SeverityWarn || State("bogus").Severity() != SeverityError {
		t.Error("a pending change or an unknown state passes as fine")
	}
	for sev, name := range map[Severity]string{SeverityOK: "ok", SeveritySkipped: "skipped", SeverityWarn: "warn", SeverityAction: "action", SeverityError: "error"} {
		if sev.String() != name {
			t.Errorf("%d: %q, want %q", int(sev), sev.String(), name)
		}
	}
}

func TestErrorKeepsItsCauseAndShowsItsMessage(t *testing.T) {
	type result struct {
		Err      Error   `json:"error,omitzero"`
		Problems []Error `json:"problems"`
	}
	r := result{Err: Errorf("read %s: %w", "x", fs.ErrPermission), Problems: []Error{{Err: errors.New("a")}}}
	if !errors.Is(r.Err, fs.ErrPermission) {
		t.Error("cause not reachable")
	}
	b, err := json.Marshal(r)
	if err != nil || string(b) != `{"error":"read x: permission denied","problems":["a"]}` {
		t.Fatalf("%s %v", b, err)
	}
	var back result
	if err := json.Unmarshal(b, &back); err != nil || back.Err.Error() != "read x: permission denied" || back.Problems[0].Error() != "a" {
		t.Fatalf("%+v %v", back, err)
	}
	if b, _ := json.Marshal(result{Problems: []Error{}}); string(b) != `{"problems":[]}` {
		t.Errorf("no error: %s", b)
	}
}
