package backup_test

import (
	"slices"
	"testing"
	"time"

	"github.com/quantx/quantx-db/backup"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func manifests(kind backup.Kind, db string, times ...string) []backup.Manifest {
	var out []backup.Manifest
	for _, s := range times {
		out = append(out, backup.Manifest{ID: s + "-" + string(kind) + "-" + db, Kind: kind, Database: db, StartedAt: at(s)})
	}
	return out
}

func TestPlanPrune(t *testing.T) {
	// ISO weeks: 2026-11-23..29 is W48, 11-16..22 W47 (11-22 a Sunday), 11-09..15 W46, 11-01 (a Sunday) W44.
	nightly := manifests(backup.KindPostgres, "quantx",
		"2026-11-26 02:00", "2026-11-25 14:00", "2026-11-25 02:00", "2026-11-24 02:00", "2026-11-23 02:00",
		"2026-11-22 02:00", "2026-11-16 02:00", "2026-11-09 02:00", "2026-11-01 02:00")
	tests := []struct {
		name   string
		in     []backup.Manifest
		policy backup.Policy
		keep   []string // start times kept
	}{
		{"keep last 2", nightly, backup.Policy{KeepLast: 2}, []string{"2026-11-26 02:00", "2026-11-25 14:00"}},
		{"keep daily 3: newest of each day", nightly, backup.Policy{KeepDaily: 3},
			[]string{"2026-11-26 02:00", "2026-11-25 14:00", "2026-11-24 02:00"}},
		{"keep weekly 3", nightly, backup.Policy{KeepWeekly: 3},
			[]string{"2026-11-26 02:00", "2026-11-22 02:00", "2026-11-09 02:00"}},
		{"combined rules add up", nightly, backup.Policy{KeepLast: 1, KeepDaily: 2, KeepWeekly: 4},
			[]string{"2026-11-26 02:00", "2026-11-25 14:00", "2026-11-22 02:00", "2026-11-09 02:00", "2026-11-01 02:00"}},
		{"policy larger than the set keeps all", nightly[:3], backup.Policy{KeepLast: 10},
			[]string{"2026-11-26 02:00", "2026-11-25 14:00", "2026-11-25 02:00"}},
		{"newest always kept, even by a weekly rule that starts elsewhere", nightly, backup.Policy{KeepDaily: 1},
			[]string{"2026-11-26 02:00"}},
		{"unsorted input", []backup.Manifest{nightly[4], nightly[0], nightly[2]}, backup.Policy{KeepLast: 1},
			[]string{"2026-11-26 02:00"}},
		{"year boundary: ISO week 2026-W53 and 2027-W01",
			manifests(backup.KindPostgres, "quantx", "2027-01-04 01:00", "2027-01-03 01:00", "2026-12-31 01:00", "2026-12-28 01:00"),
			backup.Policy{KeepWeekly: 2}, []string{"2027-01-04 01:00", "2027-01-03 01:00"}},
		{"groups by kind and database",
			append(append(manifests(backup.KindPostgres, "a", "2026-11-26 02:00", "2026-11-25 02:00"),
				manifests(backup.KindInflux, "a", "2026-11-20 02:00", "2026-11-19 02:00")...),
				manifests(backup.KindPostgres, "b", "2026-11-01 02:00")...),
			backup.Policy{KeepLast: 1}, []string{"2026-11-26 02:00", "2026-11-20 02:00", "2026-11-01 02:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := backup.PlanPrune(tt.in, tt.policy)
			if len(ds) != len(tt.in) {
				t.Fatalf("%d decisions for %d backups", len(ds), len(tt.in))
			}
			var kept []string
			for i, d := range ds {
				if i > 0 && d.StartedAt.After(ds[i-1].StartedAt) {
					t.Errorf("decisions not newest first")
				}
				if d.Keep != (len(d.Reasons) > 0) {
					t.Errorf("%s: keep %v with reasons %v", d.ID, d.Keep, d.Reasons)
				}
				if d.Keep {
					kept = append(kept, d.StartedAt.Format("2006-01-02 15:04"))
				}
			}
			slices.Sort(kept)
			want := slices.Clone(tt.keep)
			slices.Sort(want)
			if !slices.Equal(kept, want) {
				t.Errorf("kept %v, want %v", kept, want)
			}
		})
	}
}
