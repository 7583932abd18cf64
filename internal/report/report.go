// Package report is the vocabulary that quantx-db's reports share: the
// states of status, doctor, migrate status, influx status and elastic status,
// each with one severity, and errors kept as values in results.
//
// A State is the word a report shows and its JSON carries (stable: monitors
// match on it). Its Severity is what a reader acts on: the CLI colours a state
// by its severity and never by its word, and a check's exit code follows the
// severity. Store packages use these states (migrations.StatePending is
// report.StatePending); they never define states of their own, so that one
// word always means one thing and has one colour.
package report

import (
	"errors"
	"fmt"
)

// Severity orders states by how much they ask of the reader.
type Severity int

// Severities, least to most urgent. SeverityNone is the zero value: a row
// without a state (the CLI leaves it uncoloured).
const (
	SeverityNone    Severity = iota
	SeverityOK               // nothing to do
	SeveritySkipped          // not checked: not configured, or not applicable yet
	SeverityWarn             // worth knowing; nothing is broken
	SeverityAction           // someone must act (a check exits 3)
	SeverityError            // could not be read or done
)

var severityNames = [...]string{"", "ok", "skipped", "warn", "action", "error"}

// String is the severity's name: ok, skipped, warn, action or error.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// State is the state of one item of a report.
type State string

// The states. The first five are the whole vocabulary of status and doctor,
// whose lines condense a store; the others name a finding of one store's own
// report more precisely.
const (
	StateOK      State = "ok"
	StateSkipped State = "skipped" // not checked: not configured, or nothing to check yet
	StateWarn    State = "warn"
	StateAction  State = "action"
	StateError   State = "error" // could not be read, or a check failed

	// Migrations (migrate status).
	StateApplied        State = "applied"
	StatePending        State = "pending"
	StateDirty          State = "dirty"           // a no-transaction run of it stopped part way; never "applied"
	StateRunning        State = "running"         // dirty, and another session holds the migration lock: a run is in progress
	StateInvalidIndex   State = "invalid_index"   // applied, but an index its file creates is INVALID
	StateUnknownApplied State = "unknown_applied" // applied, and this binary has no file for it (a newer release ran it)

	// Desired state compared with a server (influx status, elastic status).
	StateMissing            State = "missing"             // not on the server: setup creates it
	StateDrift              State = "drift"               // the server differs: setup fixes it in place
	StateChanged            State = "changed"             // the definition was edited since it was applied: setup records it
	StateReindexRequired    State = "reindex_required"    // the server differs in a way only a reindex fixes
	StateReindexInterrupted State = "reindex_interrupted" // a reindex stopped half-way; rerunning it finishes it
	StateStale              State = "stale"               // a rolled-up interval misses points written after it was rolled
)

// severities is the one table from state to severity.
var severities = map[State]Severity{
	StateOK: SeverityOK, StateApplied: SeverityOK,
	StateSkipped: SeveritySkipped,
	StateWarn:    SeverityWarn,
	StateAction:  SeverityAction, StatePending: SeverityAction, StateDirty: SeverityAction, StateRunning: SeverityAction,
	StateInvalidIndex: SeverityAction, StateUnknownApplied: SeverityAction,
	StateMissing: SeverityAction, StateDrift: SeverityAction, StateChanged: SeverityAction,
	StateReindexRequired: SeverityAction, StateReindexInterrupted: SeverityAction, StateStale: SeverityAction,
	StateError: SeverityError,
}

// Severity is the state's severity. A word outside the vocabulary is an
// error: it can only come from a defect, and must not pass as fine.
func (s State) Severity() Severity {
	if sev, ok := severities[s]; ok {
		return sev
	}
	return SeverityError
}

// States lists the vocabulary, for documentation and tests.
func States() []State {
	out := make([]State, 0, len(severities))
	for s := range severities {
		out = append(out, s)
	}
	return out
}

// Error is an error kept in a result value: the caller still reaches its
// cause with errors.Is and errors.As, and JSON shows its message. The zero
// value is "no error" (omitted by omitzero).
type Error struct{ Err error }

// Errorf is an Error from a format string; %w keeps its cause reachable.
func Errorf(format string, args ...any) Error { return Error{Err: fmt.Errorf(format, args...)} }

func (e Error) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e Error) Unwrap() error { return e.Err }

// IsZero reports whether there is no error (for the omitzero JSON option).
func (e Error) IsZero() bool { return e.Err == nil }

// MarshalText writes the message.
func (e Error) MarshalText() ([]byte, error) { return []byte(e.Error()), nil }

// UnmarshalText reads a message back (a decoded report: only the text survives).
func (e *Error) UnmarshalText(b []byte) error {
	e.Err = nil
	if len(b) > 0 {
		e.Err = errors.New(string(b))
	}
	return nil
}
