package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/quantx/quantx-db/internal/output"
)

// Exit codes are a contract with CI and cron (README "Exit codes"); only
// reportError turns an error into one.
const (
	exitOK          = 0   // done, including "nothing to do"
	exitFailure     = 1   // connection, SQL or server error
	exitUsage       = 2   // bad flag, argument or config; nothing was touched
	exitCheck       = 3   // a check found something: pending, drift, lint findings, verify mismatch
	exitLocked      = 4   // another runner held the lock past the wait, or a lock_timeout outlasted every retry
	exitInterrupted = 130 // SIGINT/SIGTERM; stopped at a safe point
)

// userError is printed as one line, an optional hint line, and an exit code.
type userError struct {
	code int    // one of the exit* constants
	msg  string // what is wrong: one line, lower case
	hint string // what to do next; may be empty
	err  error  // the cause, for errors.Is/AsType
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }

// usageErr marks err as a usage error (exit 2).
func usageErr(err error, hint string) error {
	return &userError{code: exitUsage, msg: err.Error(), hint: hint, err: err}
}

// usagef is a usage error from a format string.
func usagef(hint, format string, args ...any) error {
	return &userError{code: exitUsage, msg: fmt.Sprintf(format, args...), hint: hint}
}

// checkFailed is the exit-3 outcome of a check (pending migrations, drift, ...).
// The result has already been rendered; msg is the one-line summary on stderr.
func checkFailed(msg, hint string) error {
	return &userError{code: exitCheck, msg: msg, hint: hint}
}

// failure wraps a library error with a hint, keeping exit code 1.
func failure(err error, hint string) error {
	return &userError{code: exitFailure, msg: err.Error(), hint: hint, err: err}
}

// errorDoc is the JSON shape of an error under -o json when the command
// produced no result document, so that CI always gets one JSON document.
type errorDoc struct {
	Error errorBody `json:"error"`
}

// errorBody is an error as JSON: in the error document, and in the document
// of a status verb that could not read a store.
type errorBody struct {
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
	ExitCode int    `json:"exit_code"`
}

// errorBody is ue as it is printed: one line each, every secret masked
// (d.streams redact as well; masking here first keeps the JSON document's
// text and stderr's the same).
func (d *deps) errorBody(ue *userError) *errorBody {
	return &errorBody{Message: oneLine(d.redactor.Redact(ue.msg)), Hint: oneLine(d.redactor.Redact(ue.hint)), ExitCode: ue.code}
}

// reportError prints err once and returns the exit code. The message and
// hint are one line each, with every known secret and URL password masked.
func (d *deps) reportError(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	d.stopProgress()
	ue := classify(ctx, err)
	body := d.errorBody(ue)
	fmt.Fprintln(d.streams.Err, "quantx-db:", body.Message)
	if body.Hint != "" {
		fmt.Fprintln(d.streams.Err, "hint:", body.Hint)
	}
	if d.format == output.FormatJSON && !d.rendered {
		_ = output.JSON(d.streams.Out, errorDoc{Error: *body})
	}
	return ue.code
}

// classify turns any error into a userError: explicit ones keep their code,
// an interruption exits 130, and library errors get the code and hint that
// explain (hints.go) gives them; the rest exit 1.
func classify(ctx context.Context, err error) *userError {
	if _, ok := errors.AsType[*userError](err); !ok && (errors.Is(err, context.Canceled) || ctx.Err() != nil) {
		return &userError{code: exitInterrupted, msg: "interrupted: " + err.Error(), err: err}
	}
	return classifyErr(err)
}

// classifyErr is classify for an error known not to be an interruption.
func classifyErr(err error) *userError {
	if ue, ok := errors.AsType[*userError](err); ok {
		return ue
	}
	if errors.Is(err, context.Canceled) {
		return &userError{code: exitInterrupted, msg: "interrupted: " + err.Error(), err: err}
	}
	if isCobraUsage(err) {
		return &userError{code: exitUsage, msg: err.Error(), hint: "see --help", err: err}
	}
	code, hint, _ := explain(err)
	return &userError{code: code, msg: err.Error(), hint: hint, err: err}
}

// isCobraUsage recognises cobra's own argument and flag errors, which are
// plain errors. Cobra gives us no type to test, so this is the one place that
// looks at text; every message below is produced by cobra or pflag.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag", "if any flags in the group"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// oneLine keeps a message to one line without losing its cause.
func oneLine(s string) string { return output.OneLine(s) }

// storeFailure is the error of a multi-store command whose report has been
// rendered: its exit code and hint are those of the first failed store
// (a held lock exits 4, a bad definition 2, anything else 1), its message
// names every failed store.
func storeFailure(prefix string, err error) error {
	if err == nil {
		return nil
	}
	first := err
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		first = j.Unwrap()[0]
	}
	ue := classifyErr(first)
	return &userError{code: ue.code, msg: prefix + oneLine(err.Error()), hint: ue.hint, err: err}
}
