package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
)

// The status verbs (migrate status, influx status, elastic status, wal
// status, status) share one exit-code rule, written down once in the README
// ("Exit codes", "Status verbs") and applied here only:
//
//   - 0 when every line is ok, warn or skipped;
//   - 3 when a line needs action (a severity of report.SeverityAction);
//   - 1 when a store could not be read (an error line; what could be read is
//     still printed);
//   - --exit-code is on by default; --exit-code=false prints the same report
//     and exits 0 whatever it found;
//   - a usage error (2) or an interruption (130) is never hidden: nothing was
//     checked then.
//
// Every status verb's JSON document starts with the same keys (statusVerdict).

// statusExitHelp is what each status verb's help says about its exit code.
const statusExitHelp = `Exit codes are those of every status verb (README, "Exit codes", "Status
verbs"): 0 when every line is ok, warn or skipped, 3 when a line needs
action, 1 when a store could not be read (the rest of the report is still
printed). --exit-code is the default; --exit-code=false prints the same
report and exits 0.`

// statusCheck is the --exit-code flag of a status verb.
type statusCheck struct{ exitCode bool }

// add adds --exit-code and the rule's reference to the verb's help.
func (c *statusCheck) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.exitCode, "exit-code", true,
		"exit 3 when a line needs action, 1 when a store could not be read; =false: exit 0 whatever the report says")
	if cmd.Long == "" {
		cmd.Long = cmd.Short + "."
	}
	cmd.Long += "\n\n" + statusExitHelp
}

// statusExit is the exit code of a report whose worst line has severity worst.
func statusExit(worst report.Severity) int {
	switch {
	case worst >= report.SeverityError:
		return exitFailure
	case worst == report.SeverityAction:
		return exitCheck
	}
	return exitOK
}

// worstState names a severity with the state word of status and doctor.
func worstState(worst report.Severity) report.State {
	switch worst {
	case report.SeveritySkipped:
		return report.StateSkipped
	case report.SeverityWarn:
		return report.StateWarn
	case report.SeverityAction:
		return report.StateAction
	case report.SeverityError:
		return report.StateError
	}
	return report.StateOK
}

// statusVerdict is the part every status verb's JSON document shares, as its
// first keys: when the report was made, its worst line, whether a line needs
// action or could not be read, and the error when a store could not be read.
type statusVerdict struct {
	CheckedAt   time.Time    `json:"checked_at"`
	State       report.State `json:"state"`        // the worst line: ok, skipped, warn, action or error
	NeedsAction bool         `json:"needs_action"` // a line needs action
	Errors      bool         `json:"errors"`       // a store (or part of one) could not be read
	Error       *errorBody   `json:"error,omitempty"`
}

// findings is what a status report adds up to.
type findings struct {
	worst   report.Severity // of the worst line
	action  bool            // a line needs action (also when another could not be read)
	problem error           // explains the worst line: checkFailed for an action, the failure for an error
}

// actionOr is the findings of a report whose worst line is worst: when it is
// an action, problem says what to do.
func actionOr(worst report.Severity, problem error) findings {
	return findings{worst: worst, action: worst == report.SeverityAction, problem: problem}
}

func newVerdict(at time.Time, f findings) statusVerdict {
	return statusVerdict{CheckedAt: at.UTC(), State: worstState(f.worst),
		NeedsAction: f.action, Errors: f.worst >= report.SeverityError}
}

// verdictDoc is a status verb's JSON: the verdict's keys first, then the
// verb's own document (a key both have is the verdict's).
type verdictDoc struct {
	verdict statusVerdict
	report  any // nil: no report (the store could not be read at all)
}

func (v verdictDoc) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(v.verdict)
	if err != nil || v.report == nil {
		return head, err
	}
	var known map[string]json.RawMessage
	if err := json.Unmarshal(head, &known); err != nil {
		return nil, err
	}
	body, err := json.Marshal(v.report)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("status document %T is not a JSON object", v.report)
	}
	var out bytes.Buffer
	out.Write(head[:len(head)-1]) // without its closing brace
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if _, dup := known[key]; dup {
			continue
		}
		k, _ := json.Marshal(key)
		out.WriteByte(',')
		out.Write(k)
		out.WriteByte(':')
		out.Write(raw)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// statusReport is the end of a status verb that read its stores: it prints
// the report (JSON with the shared verdict) and returns the outcome the rule
// gives its findings.
func (d *deps) statusReport(c statusCheck, at time.Time, f findings, doc any, view func() output.Table) error {
	v := newVerdict(at, f)
	outcome := c.outcome(f.worst, f.problem)
	if ue, ok := errors.AsType[*userError](outcome); ok && f.worst >= report.SeverityError {
		v.Error = d.errorBody(ue)
	}
	if err := d.render(verdictDoc{verdict: v, report: doc}, view); err != nil {
		return err
	}
	return outcome
}

// statusUnreadable is the end of a single-store status verb whose store
// could not be read at all: with -o json the document still has the shared
// keys (state error) and the error; the exit code follows the rule. A usage
// error or an interruption is returned as it is: nothing was checked.
func (d *deps) statusUnreadable(ctx context.Context, c statusCheck, err error) error {
	ue := classify(ctx, err)
	if ue.code == exitUsage || ue.code == exitInterrupted {
		return err
	}
	outcome := c.outcome(report.SeverityError, err)
	if d.format == output.FormatJSON {
		v := newVerdict(d.now(), findings{worst: report.SeverityError})
		v.Error = d.errorBody(outcome.(*userError))
		if rerr := d.render(verdictDoc{verdict: v}, nil); rerr != nil {
			return rerr
		}
	}
	return outcome
}

// outcome is the rule itself: the error (exit code, message, hint) a report
// of severity worst ends with, or nil for exit 0 with nothing to add.
func (c statusCheck) outcome(worst report.Severity, problem error) error {
	if worst < report.SeverityAction {
		return nil
	}
	if problem == nil { // a defect of the verb: a line needs something and nothing says what
		problem = errors.New("the report has a line in state " + string(worstState(worst)))
	}
	ue := classifyErr(problem)
	code := statusExit(worst)
	if worst >= report.SeverityError && (ue.code == exitUsage || ue.code == exitInterrupted) {
		code = ue.code // nothing was checked: never hidden
	} else if !c.exitCode {
		if worst < report.SeverityError {
			return nil // the report says it; the caller asked for exit 0
		}
		code = exitOK // still said on stderr: an unreadable store is never silent
	}
	return &userError{code: code, msg: ue.msg, hint: ue.hint, err: problem}
}
