package backup_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/quantx/quantx-db/backup"
)

// TestEntriesOrderSameSecondBackupsAsLatestDoes: two backups started in the
// same second have IDs that differ only by their random suffix. Entries (shell
// completion's listing) must order them as List and Latest do, by the
// manifests' exact start times, not by the suffix. The suffixes are chosen so
// that ordering by ID gives the opposite answer.
func TestEntriesOrderSameSecondBackupsAsLatestDoes(t *testing.T) {
	t.Parallel()
	cat, st, _ := newCatalogue(t, backup.Options{})
	ctx := t.Context()
	second := time.Date(2026, 11, 30, 12, 3, 14, 0, time.UTC)
	put := func(id string, started time.Time) {
		m := backup.Manifest{ID: id, Kind: backup.KindPostgres, Database: "quantx", StartedAt: started, FinishedAt: started.Add(time.Second),
			Objects: []backup.Object{}, Recipients: []string{}}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutBytes(ctx, backup.BackupsPrefix+id+"/manifest.json", b, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Written newer first, so that neither the listing's order nor the
	// S3 server's LastModified (to the second) decides.
	newer := "20261130T120314Z-postgres-quantx-aaaaaa"
	older := "20261130T120314Z-postgres-quantx-zzzzzz"
	alone := "20261130T120313Z-postgres-quantx-mmmmmm"
	put(newer, second.Add(800*time.Millisecond))
	put(older, second.Add(100*time.Millisecond))
	put(alone, second.Add(-time.Second))

	entries, err := cat.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.ID)
	}
	if want := []string{newer, older, alone}; !slices.Equal(got, want) {
		t.Errorf("Entries: %q, want %q (newest first, by the manifests' times)", got, want)
	}
	latest, err := cat.Latest(ctx, backup.LatestOptions{Kind: backup.KindPostgres, Database: "quantx"})
	if err != nil {
		t.Fatal(err)
	}
	if latest.ID != got[0] {
		t.Errorf("Latest is %s, Entries lists %s first", latest.ID, got[0])
	}
}
