package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/testenv"
)

// TestPITRRestoresToTheSecond: rows A committed, target time T, rows B committed. restore pitr
// --target-time T --start --verify has A and not B, --latest has both, the restored schema is the
// source's, and a restored copy never archives into the source's repository. Then the physical
// backups are listed (kind physical, WAL range) and pruned with the logical keep rules; once the
// oldest backup is gone, T is before the recovery window and the restore exits 1 naming it.
func TestPITRRestoresToTheSecond(t *testing.T) {
	t.Parallel()
	e := newPITREnv(t, testenv.S3TLS(t), testenv.ClusterOptions{})
	e.setup()
	db := e.c.Database(t)
	if r := runCLI(t, map[string]string{"QUANTX_DATABASE_URL": db.URL}, "migrate", "up"); r.code != exitOK {
		t.Fatalf("migrate up: %d %s", r.code, r.stderr)
	}
	full := decodeJSON[backup.Manifest](t, e.must("backup", "physical", "--type", "full", "-o", "json").stdout)
	if full.Kind != backup.KindPhysical || full.Physical == nil || full.Physical.Type != "full" || full.Physical.WALStart == "" {
		t.Fatalf("backup physical: %+v", full)
	}

	// The window starts one second after the backup's stop time (pgBackRest records whole seconds).
	time.Sleep(time.Until(full.FinishedAt.Add(1100 * time.Millisecond)))
	src := pitrConnect(t, e.c.Port, db.Name)
	pitrExec(t, src, `CREATE TABLE pitr_rows (id int PRIMARY KEY, batch text NOT NULL)`)
	pitrExec(t, src, `INSERT INTO pitr_rows SELECT g, 'A' FROM generate_series(1, 100) g`)
	var target time.Time
	if err := src.QueryRow(t.Context(), `SELECT clock_timestamp()`).Scan(&target); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // B commits strictly after T, even on a coarse clock
	pitrExec(t, src, `INSERT INTO pitr_rows SELECT g, 'B' FROM generate_series(101, 150) g`)
	// The segment holding B's commit must be archived: a time target needs a commit after it.
	e.switchAndWait(src, time.Minute)

	// To the second: A and not B, verified, the same schema, archiving off.
	r1 := e.restorePath("at-t")
	e.stopRestored(r1)
	port1 := testenv.FreePort(t)
	res := decodeJSON[backup.PITRResult](t, e.must("restore", "pitr", "--pgdata", r1, "--target-time", target.UTC().Format(time.RFC3339Nano),
		"--start", "--port", strconv.Itoa(port1), "--verify", "-o", "json").stdout)
	if !res.Started || res.Verify == nil || !res.Verify.OK || !res.Verify.RecoveryFinished || res.Backup != full.ID || res.Archiving != "off" {
		t.Fatalf("restore to T: %+v", res)
	}
	if res.Verify.LastReplayed == nil || res.Verify.LastReplayed.After(target) {
		t.Fatalf("last replayed commit %v, target %s", res.Verify.LastReplayed, target)
	}
	counts := pitrCounts(t, port1, db.Name)
	if counts["A"] != 100 || counts["B"] != 0 {
		t.Fatalf("restored to T: %v rows, want 100 A and no B", counts)
	}
	if !verifiedTable(res, db.Name, "public.pitr_rows", 100) {
		t.Errorf("verify report lacks public.pitr_rows with 100 rows: %+v", res.Verify.Databases)
	}
	if got, want := e.schemaOf(port1, db.Name), e.schemaOf(e.c.Port, db.Name); got != want {
		t.Errorf("restored schema differs from the source's:\n%s", firstDifference(got, want))
	}
	restored := pitrConnect(t, port1, "postgres")
	var archiveMode string
	if err := restored.QueryRow(t.Context(), `SHOW archive_mode`).Scan(&archiveMode); err != nil || archiveMode != "off" {
		t.Fatalf("restored copy archive_mode %q (%v), want off", archiveMode, err)
	}
	pitrExec(t, restored, `SELECT pg_switch_wal()`) // would archive a timeline-2 segment if archiving were on

	// Everything archived: A and B.
	r2 := e.restorePath("latest")
	e.stopRestored(r2)
	port2 := testenv.FreePort(t)
	res = decodeJSON[backup.PITRResult](t, e.must("restore", "pitr", "--pgdata", r2, "--latest", "--start", "--port", strconv.Itoa(port2), "--verify", "-o", "json").stdout)
	if res.Verify == nil || !res.Verify.OK || res.Target != "latest" {
		t.Fatalf("restore --latest: %+v", res)
	}
	if counts := pitrCounts(t, port2, db.Name); counts["A"] != 100 || counts["B"] != 50 {
		t.Fatalf("restored --latest: %v rows, want 100 A and 50 B", counts)
	}
	// The README's runbook: the same restore to T with stock pgBackRest and pg_ctl, no quantx-db.
	r4 := e.restorePath("stock")
	e.stopRestored(r4)
	port4 := testenv.FreePort(t)
	if out, err := e.c.Command(t.Context(), "mkdir", "-m", "700", r4).CombinedOutput(); err != nil {
		t.Fatalf("mkdir: %v %s", err, out)
	}
	if out, err := e.pgbackrest("--pg1-path="+r4, "restore", "--type=time", "--target="+target.UTC().Format("2006-01-02 15:04:05.999999")+"+00",
		"--target-action=promote", "--archive-mode=off"); err != nil {
		t.Fatalf("stock pgbackrest restore: %v\n%s", err, out)
	}
	if out, err := e.c.Command(t.Context(), e.pgBin("pg_ctl"), "-D", r4, "-o", "-p "+strconv.Itoa(port4), "-l", filepath.Join(r4, "log"), "-w", "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v %s", err, out)
	}
	stock := pitrConnect(t, port4, "postgres")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var inRecovery bool
		if err := stock.QueryRow(t.Context(), `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil {
			t.Fatal(err)
		}
		if !inRecovery {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stock restore did not finish recovery within a minute")
		}
	}
	if counts := pitrCounts(t, port4, db.Name); counts["A"] != 100 || counts["B"] != 0 {
		t.Fatalf("stock pgBackRest restore to T: %v rows, want 100 A and no B", counts)
	}

	// Neither copy archived into the source's repository: no timeline 2 there.
	client, err := e.s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	for o := range client.ListObjects(t.Context(), e.s3.Bucket, minio.ListObjectsOptions{Prefix: "pitr/pgbackrest/archive/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.HasPrefix(filepath.Base(o.Key), "00000002") { // timeline 2: a segment or 00000002.history
			t.Errorf("a restored copy archived into the source's repository: %s", o.Key)
		}
	}

	// A target after the last archived commit cannot be reached: exit 1 naming the window, and what
	// the copy had begun is removed.
	future := e.restorePath("future")
	r := e.cli("restore", "pitr", "--pgdata", future, "--target-time", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if r.code != exitFailure || !strings.Contains(r.stderr, "outside the recovery window") || !strings.Contains(r.stderr, full.FinishedAt.Add(time.Second).Format(time.RFC3339)) {
		t.Fatalf("target in the future: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(future); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s: %v", future, err)
	}

	// Listing: the physical backups, with their WAL range, beside the logical ones.
	incr := decodeJSON[backup.Manifest](t, e.must("backup", "physical", "--type", "incr", "-o", "json").stdout)
	if incr.Physical.Type != "incr" || len(incr.Physical.Reference) != 1 || incr.Physical.Reference[0] != full.ID {
		t.Fatalf("incr backup: %+v", incr.Physical)
	}
	full2 := decodeJSON[backup.Manifest](t, e.must("backup", "physical", "--type", "full", "-o", "json").stdout)
	list := decodeJSON[backupList](t, e.must("backup", "list", "-o", "json").stdout)
	if ids := manifestIDs(list.Backups); strings.Join(ids, ",") != full2.ID+","+incr.ID+","+full.ID {
		t.Fatalf("backup list: %v, want %s, %s, %s", ids, full2.ID, incr.ID, full.ID)
	}
	if text := e.must("backup", "list").stdout; !strings.Contains(text, "physical incr") || !strings.Contains(text, full.Physical.WALStart) {
		t.Errorf("backup list text lacks the kind or the WAL range:\n%s", text)
	}
	// Filtered by kind and stanza, and summarised by backup info with pgBackRest's sizes.
	if l := decodeJSON[backupList](t, e.must("backup", "list", "--kind", "physical", "--database", e.stanza, "-o", "json").stdout); len(l.Backups) != 3 {
		t.Errorf("backup list --kind physical --database %s: %v", e.stanza, manifestIDs(l.Backups))
	}
	if l := decodeJSON[backupList](t, e.must("backup", "list", "--kind", "postgres", "-o", "json").stdout); len(l.Backups) != 0 {
		t.Errorf("backup list --kind postgres: %v", manifestIDs(l.Backups))
	}
	info := decodeJSON[backupInfoResult](t, e.must("backup", "info", "-o", "json").stdout)
	if len(info.Groups) != 1 {
		t.Fatalf("backup info: %+v", info.Groups)
	}
	if g := info.Groups[0]; g.Kind != backup.KindPhysical || g.Database != e.stanza || g.Count != 3 || g.Newest.ID != full2.ID ||
		g.Oldest.ID != full.ID || g.TotalBytes != full.Size+incr.Size+full2.Size || g.LastVerification != nil {
		t.Errorf("backup info: %+v; want 3 sets of %s, %s to %s, %d bytes", g, e.stanza, full.ID, full2.ID, full.Size+incr.Size+full2.Size)
	}

	// status reads the logical catalogue over TLS (--s3-ca-file) and reports WAL archiving.
	if it := statusItem(decodeJSON[statusDoc](t, e.must("status", "-o", "json").stdout), "postgres", "wal archiving"); it.State != "ok" || !strings.Contains(it.Detail, "newest physical backup") {
		t.Errorf("status 'wal archiving' line: %+v", it)
	}

	// Pruning with the logical keep rules: keep-last 2 keeps full2 and incr, and incr needs full.
	dry := decodeJSON[backup.PruneResult](t, e.must("backup", "prune", "--keep-last", "2", "--dry-run", "-o", "json").stdout)
	if dry.Physical == nil || len(dry.Physical.Deleted) != 0 || !hasReason(dry.Physical.Decisions, full.ID, "needed by "+incr.ID) {
		t.Fatalf("prune --keep-last 2 --dry-run: %+v", dry.Physical)
	}
	pr := decodeJSON[backup.PruneResult](t, e.must("backup", "prune", "--keep-last", "1", "--yes", "-o", "json").stdout)
	if pr.Physical == nil || strings.Join(pr.Physical.Deleted, ",") != incr.ID+","+full.ID || !pr.Physical.ArchiveExpired {
		t.Fatalf("prune --keep-last 1: %+v", pr.Physical)
	}
	list = decodeJSON[backupList](t, e.must("backup", "list", "-o", "json").stdout)
	if ids := manifestIDs(list.Backups); len(ids) != 1 || ids[0] != full2.ID {
		t.Fatalf("after prune: %v, want only %s", ids, full2.ID)
	}

	// T is now before the oldest backup: exit 1 naming the window, nothing created.
	r3 := e.restorePath("before-window")
	r = e.cli("restore", "pitr", "--pgdata", r3, "--target-time", target.UTC().Format(time.RFC3339Nano))
	if r.code != exitFailure || !strings.Contains(r.stderr, "outside the recovery window") || !strings.Contains(r.stderr, full2.FinishedAt.Add(time.Second).Format(time.RFC3339)) {
		t.Fatalf("target before the oldest backup: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(r3); !os.IsNotExist(err) {
		t.Errorf("a refused restore created %s: %v", r3, err)
	}
}

// pitrCounts counts pitr_rows by batch on a restored server.
func pitrCounts(t *testing.T, port int, db string) map[string]int {
	t.Helper()
	conn := pitrConnect(t, port, db)
	rows, err := conn.Query(t.Context(), `SELECT batch, count(*) FROM pitr_rows GROUP BY batch`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var b string
		var n int
		if err := rows.Scan(&b, &n); err != nil {
			t.Fatal(err)
		}
		out[b] = n
	}
	return out
}

func verifiedTable(res backup.PITRResult, db, table string, rows int64) bool {
	for _, d := range res.Verify.Databases {
		for _, tr := range d.Tables {
			if d.Name == db && tr.Table == table && tr.Rows == rows {
				return d.MigrationVersion != nil && !d.MigrationDirty
			}
		}
	}
	return false
}

func manifestIDs(ms []backup.Manifest) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func hasReason(ds []backup.Decision, id, reason string) bool {
	for _, d := range ds {
		if d.ID == id && d.Keep {
			for _, r := range d.Reasons {
				if r == reason {
					return true
				}
			}
		}
	}
	return false
}

// firstDifference shows the first line where two texts differ.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n- " + bl[i] + "\n+ " + al[i]
		}
	}
	return "lengths differ: " + strconv.Itoa(len(al)) + " vs " + strconv.Itoa(len(bl)) + " lines"
}

// TestPhysicalUsageErrors: bad flags are usage errors (exit 2) with one line naming the flag, before
// anything is read or written; root is refused (these run in-process, as root or not).
func TestPhysicalUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.conf")
	env := map[string]string{"QUANTX_PGBACKREST_CONFIG": missing}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "pitr", "--latest"}, "no target directory"},
		{[]string{"restore", "pitr", "--pgdata", "/x"}, "no recovery target"},
		{[]string{"restore", "pitr", "--pgdata", "/x", "--latest", "--target-time", "2026-11-30T10:00:00Z"}, "both given"},
		{[]string{"restore", "pitr", "--pgdata", "/x", "--target-time", "2026-11-30 10:00"}, "not an RFC 3339 time"},
		{[]string{"restore", "pitr", "--pgdata", "/x", "--latest", "--verify"}, "--verify without --start"},
		{[]string{"restore", "pitr", "--pgdata", "/x", "--latest", "--start"}, "--port 0"},
		{[]string{"wal", "setup"}, "no data directory"},
		{[]string{"wal", "setup", "--pgdata", "/x", "--pgbackrest-option", "repo1-path=/elsewhere"}, "writes repo1-path itself"},
		{[]string{"wal", "setup", "--pgdata", "/x", "--pgbackrest-option", "process-max"}, "not KEY=VALUE"},
		{[]string{"backup", "physical", "--type", "weekly"}, `--type "weekly"`},
		{[]string{"wal", "status"}, "no pgBackRest configuration at " + missing},
		{[]string{"wal", "bogus"}, "unknown command"},
	} {
		r := runCLI(t, env, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if os.Geteuid() == 0 {
		for _, args := range [][]string{{"backup", "physical"}, {"restore", "pitr", "--pgdata", "/x", "--latest"}} {
			if r := runCLI(t, env, args...); r.code != exitUsage || !strings.Contains(r.stderr, "refusing to run as root") || !isOneLine(r.stderr) {
				t.Errorf("%v as root: exit %d %q", args, r.code, r.stderr)
			}
		}
	}
}
