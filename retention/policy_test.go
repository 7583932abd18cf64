package retention

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a, o := p.Postgres.ActivityLogs, p.Postgres.Orders
	if a == nil || a.Keep.String() != "24 months" || !a.Archives() {
		t.Fatalf("activity_logs: %+v", a)
	}
	if o == nil || o.Keep.String() != "12 months" || o.BatchSize != 5000 || o.Pause.D != 100*time.Millisecond ||
		strings.Join(o.Statuses, ",") != "FILLED,CANCELED,EXPIRED" {
		t.Fatalf("orders: %+v", o)
	}
	if p.Influx["7_days_detailed"].String() != "7d" || len(p.Influx) != 3 {
		t.Errorf("influx: %v", p.Influx)
	}
	now := time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC)
	if got := a.Keep.Before(now); !got.Equal(time.Date(2024, 2, 28, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("24 months before %s = %s", now, got)
	}
}

func TestParsePolicyRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "postgres: {}\nretention: 3\n", `line 2: unknown key "retention"`},
		{"unknown table", "postgres:\n  trades:\n    keep: 1y\n", `line 2: unknown table "trades" under postgres`},
		{"unknown key in a table", "postgres:\n  orders:\n    keep: 1y\n    batchsize: 10\n", `line 4: unknown key "batchsize" in postgres.orders`},
		{"negative duration", "postgres:\n  activity_logs:\n    keep: -3 months\n", `line 3: postgres.activity_logs.keep: duration "-3 months": must be positive`},
		{"zero duration", "postgres:\n  orders:\n    keep: 0d\n", `duration "0d": must be positive`},
		{"bad unit", "postgres:\n  orders:\n    keep: 12 fortnights\n", `unknown unit "fortnights"`},
		{"missing keep", "postgres:\n  activity_logs:\n    archive: false\n", "postgres.activity_logs.keep is required"},
		{"unknown status", "postgres:\n  orders:\n    keep: 1y\n    statuses: [FILLED, DONE]\n", `unknown order status "DONE"`},
		{"negative pause", "postgres:\n  orders:\n    keep: 1y\n    pause: -1s\n", `pause "-1s": must not be negative`},
		{"negative batch", "postgres:\n  orders:\n    keep: 1y\n    batch_size: -5\n", "line 4: postgres.orders.batch_size: -5 must be positive"},
		{"negative influx duration", "influx:\n  raw: -7d\n", `duration "-7d": must be positive`},
		{"not yaml", "postgres: [\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy([]byte(tt.yaml), "p.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !errors.Is(err, ErrPolicy) || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "p.yaml: ") {
				t.Errorf("error %q: want one line starting with the file, containing %q, wrapping ErrPolicy", msg, tt.want)
			}
		})
	}
}

func TestParsePolicyPartial(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte("postgres:\n  orders:\n    keep: 90 days\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Postgres.ActivityLogs != nil {
		t.Error("a table left out of the file must be left alone")
	}
	o := p.Postgres.Orders
	if o.BatchSize != DefaultBatchSize || o.Pause.D != DefaultPause || len(o.Statuses) != 3 || o.Keep.String() != "90d" {
		t.Errorf("defaults not filled: %+v", o)
	}
}
