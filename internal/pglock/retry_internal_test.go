package pglock

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestDelayBounds: the pause before a retry is the backoff plus up to half
// of it again, never less and never more, and the jitter really varies.
func TestDelayBounds(t *testing.T) {
	for _, b := range []time.Duration{time.Millisecond, 250 * time.Millisecond, time.Second, MaxBackoff} {
		seen := map[time.Duration]bool{}
		for range 2000 {
			d := delay(b)
			if d < b || d > b+b/2 {
				t.Fatalf("delay(%s) = %s, want within [%s, %s]", b, d, b, b+b/2)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("delay(%s): %d distinct values in 2000 draws: no jitter", b, len(seen))
		}
	}
}

func TestBackoffDefaultsAndCap(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{0, DefaultBackoff}, {-time.Second, DefaultBackoff}, {time.Second, time.Second}, {time.Hour, MaxBackoff},
	} {
		if got := (Options{Backoff: c.in}).backoff(); got != c.want {
			t.Errorf("backoff(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestSetting: 0 and negative mean off; a positive duration never rounds to
// off.
func TestSetting(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{{0, "0"}, {-time.Second, "0"}, {time.Microsecond, "1"}, {1500 * time.Microsecond, "1"}, {5 * time.Second, "5000"}} {
		if got := Setting(c.in); got != c.want {
			t.Errorf("Setting(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsLockFailure(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "55P03"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01"}), true},
		{&pgconn.PgError{Code: "57014"}, false}, // query_canceled: a statement_timeout or a cancel, not a lock
		{&pgconn.PgError{Code: "42P01"}, false},
		{errors.New("55P03"), false},
		{nil, false},
	} {
		if got := IsLockFailure(c.err); got != c.want {
			t.Errorf("IsLockFailure(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	pgErr := &pgconn.PgError{Code: "55P03", Message: "canceling statement due to lock timeout"}
	te := fmt.Errorf("outer: %w", &TimeoutError{Op: "create partition x", Attempts: 3, Err: pgErr})
	if !errors.Is(te, ErrLockTimeout) || errors.Is(te, ErrLocked) {
		t.Errorf("TimeoutError: Is(ErrLockTimeout) %v, Is(ErrLocked) %v", errors.Is(te, ErrLockTimeout), errors.Is(te, ErrLocked))
	}
	if got, ok := errors.AsType[*pgconn.PgError](te); !ok || got != pgErr {
		t.Error("TimeoutError does not unwrap to the server's error")
	}
	if want := "outer: create partition x: lock not granted within lock_timeout after 3 attempt(s): : canceling statement due to lock timeout (SQLSTATE 55P03)"; te.Error() != want {
		t.Errorf("message %q\nwant    %q", te.Error(), want)
	}
	he := fmt.Errorf("outer: %w", &HeldError{Lock: "migration lock", Waited: time.Second})
	if !errors.Is(he, ErrLocked) || errors.Is(he, ErrLockTimeout) {
		t.Error("HeldError must match ErrLocked only")
	}
	if want := "outer: another runner holds the migration lock (waited 1s)"; he.Error() != want {
		t.Errorf("message %q, want %q", he.Error(), want)
	}
}
