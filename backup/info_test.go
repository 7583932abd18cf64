package backup_test

import (
	"testing"
	"time"

	"github.com/quantx/quantx-db/backup"
)

// TestSummarize: groups per kind and database in report order, with count, newest, oldest, the
// bytes of all objects, and the most recent verification of any backup of the group. Physical sets
// (pgBackRest labels, no objects) count their stored size.
func TestSummarize(t *testing.T) {
	now := at("2026-11-30 06:00")
	ms := append(manifests(backup.KindPostgres, "quantx", "2026-11-29 01:30", "2026-11-28 01:30", "2026-11-27 01:30"),
		manifests(backup.KindPostgres, "reporting", "2026-11-30 01:30")...)
	for i := range ms {
		ms[i].Objects = []backup.Object{{Role: "dump", Size: 100 * int64(i+1)}, {Role: "globals", Size: 1}}
		ms[i].FinishedAt = ms[i].StartedAt.Add(10 * time.Minute)
	}
	ms = append(ms, backup.Manifest{ID: "20261129-020000F", Kind: backup.KindPhysical, Database: "main", Size: 5000,
		StartedAt: at("2026-11-29 02:00"), FinishedAt: at("2026-11-29 02:10")})
	ms = append([]backup.Manifest{{ID: "20261130-020000F_20261130-030000I", Kind: backup.KindPhysical, Database: "main", Size: 70,
		StartedAt: at("2026-11-30 03:00"), FinishedAt: at("2026-11-30 03:01")}}, ms...) // not in order: Summarize sorts
	verified := map[string]backup.Verification{
		ms[2].ID: {ID: ms[2].ID, Method: backup.VerifyRestore, OK: true, CheckedAt: at("2026-11-29 05:00")},
		ms[1].ID: {ID: ms[1].ID, Method: backup.VerifyObjects, OK: false, CheckedAt: at("2026-11-29 04:00")},
	}
	gs := backup.Summarize(ms, verified, now)
	if len(gs) != 3 || gs[0].Database != "quantx" || gs[1].Database != "reporting" || gs[2].Kind != backup.KindPhysical {
		t.Fatalf("groups: %+v", gs)
	}
	q := gs[0]
	if q.Count != 3 || q.Newest.ID != ms[1].ID || q.Oldest.ID != ms[3].ID || q.TotalBytes != 100+200+300+3 ||
		q.Newest.Bytes != 101 || q.Newest.AgeSeconds != (28*time.Hour+20*time.Minute).Seconds() {
		t.Errorf("quantx: %+v", q)
	}
	if v := q.LastVerification; v == nil || v.ID != ms[2].ID || !v.OK || v.AgeSeconds != 25*3600 {
		t.Errorf("quantx's last verification: %+v, want the restore check of %s 25 hours ago", v, ms[2].ID)
	}
	if gs[1].LastVerification != nil {
		t.Errorf("reporting was never verified: %+v", gs[1].LastVerification)
	}
	p := gs[2]
	if p.Count != 2 || p.Newest.ID != ms[0].ID || p.Oldest.ID != "20261129-020000F" || p.TotalBytes != 5070 || p.Newest.Bytes != 70 {
		t.Errorf("physical: %+v", p)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range backup.Kinds() {
		if got, err := backup.ParseKind(string(k)); got != k || err != nil {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := backup.ParseKind("postgress"); err == nil {
		t.Error("a misspelt kind is accepted")
	}
}
