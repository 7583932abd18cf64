package partitions_test

import (
	"strings"
	"testing"

	"github.com/quantx/quantx-db/partitions"
)

func TestListWarnsAboutDefaultAndHash(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	exec(t, pool, "INSERT INTO activity_logs (action, resource_type, created_at) SELECT 'x', 'r', '2039-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 7) i")
	exec(t, pool, "ALTER TABLE transactions DETACH PARTITION transactions_p2")
	m := partitions.New(pool, fastOpts(nil))

	l, err := m.List(t.Context(), partitions.ListOptions{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	var sawDefault, sawHash bool
	for _, p := range l.Partitions {
		if p.Name == "activity_logs_default" {
			sawDefault = p.Default && p.Rows == 7 && p.RowsExact
		}
		if p.Name == "transactions_p1" {
			sawHash = p.Strategy == "hash" && p.Modulus == 4 && p.Remainder == 1
		}
	}
	if !sawDefault || !sawHash {
		t.Errorf("list misses the DEFAULT row count or hash bounds: %+v", l.Partitions)
	}
	joined := strings.Join(l.Warnings, "\n")
	if !strings.Contains(joined, "activity_logs_default holds 7 row(s)") || !strings.Contains(joined, "remainder(s) [2] of modulus 4") {
		t.Errorf("warnings: %q", l.Warnings)
	}

	rep, err := m.Ensure(t.Context(), partitions.EnsureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.HashOK || len(rep.Hash) != 1 || rep.Hash[0].Table != "transactions" || len(rep.Hash[0].Missing) != 1 {
		t.Errorf("ensure hash verdict: ok %v %+v", rep.HashOK, rep.Hash)
	}
	h, err := m.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h.DefaultRows != 7 || h.HorizonMonths != 3 {
		t.Errorf("health: default rows %d horizon %d, want 7 and 3", h.DefaultRows, h.HorizonMonths)
	}
}
