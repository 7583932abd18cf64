package partitions

import (
	"slices"
	"testing"
)

func TestCheckHash(t *testing.T) {
	t.Parallel()
	hp := func(table string, mod, rem int) Partition {
		return Partition{Table: table, Strategy: "hash", Modulus: mod, Remainder: rem}
	}
	tests := []struct {
		name    string
		parts   []Partition
		modulus int
		missing []int
	}{
		{"complete", []Partition{hp("t", 4, 0), hp("t", 4, 1), hp("t", 4, 2), hp("t", 4, 3)}, 4, []int{}},
		{"one missing", []Partition{hp("t", 4, 0), hp("t", 4, 1), hp("t", 4, 3)}, 4, []int{2}},
		// Remainder 1 of modulus 2 covers remainders 1 and 3 of modulus 4.
		{"mixed moduli complete", []Partition{hp("t", 4, 0), hp("t", 4, 2), hp("t", 2, 1)}, 4, []int{}},
		{"mixed moduli gap", []Partition{hp("t", 8, 0), hp("t", 8, 4), hp("t", 4, 1), hp("t", 4, 2)}, 8, []int{3, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkHash(append(tt.parts, Partition{Table: "r", Strategy: "range"}))
			if len(got) != 1 {
				t.Fatalf("got %d checks, want 1 (range tables are not hash-checked)", len(got))
			}
			if got[0].Modulus != tt.modulus || !slices.Equal(got[0].Missing, tt.missing) || got[0].OK != (len(tt.missing) == 0) {
				t.Errorf("got %+v, want modulus %d missing %v", got[0], tt.modulus, tt.missing)
			}
		})
	}
}

func TestCoveredBy(t *testing.T) {
	t.Parallel()
	parts := []Partition{{Name: "d", Default: true}}
	for _, b := range []string{"FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-04-01 00:00:00+00')", "FOR VALUES FROM ('2026-05-15 00:00:00+00') TO ('2026-06-01 00:00:00+00')"} {
		p := Partition{Name: b[18:28], Bounds: b}
		parseBounds(&p)
		parts = append(parts, p)
	}
	month := func(m int) (from, to string) {
		f := monthStart(parts[1].From).AddDate(0, m, 0)
		h, p := coveredBy(parts, f, f.AddDate(0, 1, 0))
		return h, p
	}
	if h, _ := month(1); h != "2026-01-01" { // a quarterly partition made by another tool holds February
		t.Errorf("February covered by %q", h)
	}
	if h, p := month(4); h != "" || p != "2026-05-15" { // May is overlapped only in part
		t.Errorf("May: holder %q partial %q", h, p)
	}
	if h, p := month(6); h != "" || p != "" {
		t.Errorf("July: holder %q partial %q", h, p)
	}
}
