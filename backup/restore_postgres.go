package backup

import (
	"context"

	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/pgcancel"
	"github.com/quantx/quantx-db/internal/progress"
)

// PostgresRestore says where and how to restore a PostgreSQL backup.
type PostgresRestore struct {
	TargetURL  string // the database to restore into; it must exist
	Tools      PGTools
	Identities []age.Identity // for encrypted backups
	// Jobs > 1 runs pg_restore -j Jobs. pg_restore needs a seekable file for that, so the object is
	// first downloaded to a temporary file in TempDir (needs the dump's size in free space).
	Jobs    int
	TempDir string // "" is os.TempDir()
	// AllowNonEmpty restores into a database that already has tables, with pg_restore --clean
	// --if-exists (objects in the dump are dropped and recreated; others are left alone).
	AllowNonEmpty bool
	NoOwner       bool // pg_restore --no-owner --no-privileges: restore as the connecting role
	Verify        bool // compare row counts (and checksums when recorded) with the manifest afterwards
	// DryRun checks everything the restore needs and restores nothing: the manifest and its kind, the
	// object in the bucket (its size; with age, that an identity opens it), the target (reachable,
	// empty unless AllowNonEmpty), pg_restore of the target's major version, and with Jobs > 1 the free
	// space in TempDir. It fails with the error the restore would fail with.
	DryRun bool
}

// RestoreResult reports a restore.
type RestoreResult struct {
	ID       string        `json:"id"`
	Kind     Kind          `json:"kind"`
	Target   string        `json:"target"` // database name
	Bytes    int64         `json:"bytes"`  // object bytes read
	Jobs     int           `json:"jobs"`
	Cleaned  bool          `json:"cleaned"` // restored over existing objects (--clean)
	DryRun   bool          `json:"dry_run"` // nothing was restored: Bytes is the object's size, Checked what was checked
	Checked  []string      `json:"checked,omitempty"`
	Check    *RestoreCheck `json:"check,omitempty"`
	Manifest Manifest      `json:"-"`
}

// RestoreCheck compares a restored database with the manifest's per-table figures.
type RestoreCheck struct {
	OK     bool         `json:"ok"`
	Tables []TableCheck `json:"tables"`
}

// TableCheck is one table's comparison.
type TableCheck struct {
	Table            string `json:"table"`
	ExpectedRows     int64  `json:"expected_rows"`
	ActualRows       int64  `json:"actual_rows"` // -1: table missing
	ExpectedChecksum string `json:"expected_checksum,omitempty"`
	ActualChecksum   string `json:"actual_checksum,omitempty"`
	OK               bool   `json:"ok"`
}

// TargetTables counts the tables outside the system schemas of the database at url.
func TargetTables(ctx context.Context, url string) (int, error) {
	conn, err := pgcancel.Connect(ctx, url)
	if err != nil {
		return 0, fmt.Errorf("connect to target: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inspect target: %w", err)
	}
	return n, nil
}

// RestorePostgres restores backup id into o.TargetURL: streamed from S3 into pg_restore's stdin
// (serial), or through a temporary file with o.Jobs > 1. The stored object's size and SHA-256 are
// checked on the way; a mismatch fails the restore with ErrChecksumMismatch. With o.Verify the outcome
// (row counts, or a checksum mismatch) is recorded as the backup's last verification.
func (c *Catalogue) RestorePostgres(ctx context.Context, id string, o PostgresRestore) (RestoreResult, error) {
	m, err := c.Manifest(ctx, id)
	if err != nil {
		return RestoreResult{}, err
	}
	if m.Kind != KindPostgres {
		return RestoreResult{}, fmt.Errorf("restore postgres %s: %w (%s)", id, ErrWrongKind, m.Kind)
	}
	if m.Encryption == encAge && len(o.Identities) == 0 {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", id, ErrEncrypted)
	}
	conn, err := pgcancel.Connect(ctx, o.TargetURL)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: connect to target: %w", id, err)
	}
	si, err := readServerInfo(ctx, conn)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", id, err)
	}
	n, err := TargetTables(ctx, o.TargetURL)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", id, err)
	}
	res := RestoreResult{ID: id, Kind: KindPostgres, Target: si.Database, Jobs: max(o.Jobs, 1), Manifest: m}
	if n > 0 {
		if !o.AllowNonEmpty {
			return res, fmt.Errorf("restore %s into %s: %w (%d tables)", id, si.Database, ErrTargetNotEmpty, n)
		}
		res.Cleaned = true
	}
	tool, toolVersion, err := o.Tools.resolveTool(ctx, "pg_restore", ServerMajor(si.VersionNum))
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", id, err)
	}
	if o.DryRun {
		res.Checked = append(res.Checked, fmt.Sprintf("target %s reachable, %d table(s)", si.Database, n), "pg_restore "+toolVersion+" at "+tool)
		return c.checkRestore(ctx, m, o, res)
	}
	dbname, env := o.Tools.toolConn(o.TargetURL)
	args := []string{"--dbname=" + dbname, "--no-password", "--exit-on-error"}
	if res.Cleaned {
		args = append(args, "--clean", "--if-exists")
	}
	if o.NoOwner {
		args = append(args, "--no-owner", "--no-privileges")
	}

	obj, err := c.store.Get(ctx, m.Key)
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", id, err)
	}
	defer obj.Close()
	// Streamed, the object's bytes are the restore's progress; with --jobs they are the spool's.
	stage := "restore"
	if o.Jobs > 1 {
		stage = "download"
	}
	pr := c.progress(obj, stage, id, m.Size)
	checked := newCheckedReader(pr, m.Key, m.Size, m.SHA256)
	payload, err := openPayload(checked, m, o.Identities)
	if err != nil {
		return res, err
	}
	log := c.log.With("backup", id, "target", si.Database)
	log.InfoContext(ctx, "restore started", "jobs", res.Jobs, "bytes", m.Size)

	if o.Jobs > 1 {
		err = c.restoreFromFile(ctx, tool, args, env, payload, pr, id, o)
	} else {
		if c.o.Progress != nil {
			args = append(args, "--verbose") // names the object being restored; see restoreLog
		}
		cmd := toolCommand(ctx, tool, args, env)
		cmd.Stdin = payload
		tail := &tailBuffer{}
		rl := &restoreLog{tail: tail, item: pr.r.SetItem}
		cmd.Stderr = rl
		rerr := cmd.Run()
		rl.flush()
		if rerr != nil {
			err = &toolError{Tool: "pg_restore", Stderr: tail.String(), Err: rerr}
		}
		// pg_restore may stop before the archive's last bytes: read them so the checksum is complete.
		if _, derr := io.Copy(io.Discard, payload); derr != nil && err == nil {
			err = derr
		}
	}
	pr.finish()
	res.Bytes = pr.p.Bytes
	if checked.failed != nil { // a corrupted object explains a pg_restore failure: say it first
		if o.Verify {
			c.recordVerification(ctx, Verification{ID: id, Method: VerifyRestore, Target: si.Database, Problems: []string{checked.failed.Error()}})
		}
		return res, fmt.Errorf("restore %s: %w", id, checked.failed)
	}
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", id, err)
	}
	log.InfoContext(ctx, "restore finished", "bytes", res.Bytes)
	if o.Verify {
		chk, err := checkRestore(ctx, o.TargetURL, m, c.o.Progress)
		if err != nil {
			return res, fmt.Errorf("restore %s: verify: %w", id, err)
		}
		res.Check = &chk
		c.recordVerification(ctx, restoreVerification(id, si.Database, chk))
	}
	return res, nil
}

func (c *Catalogue) restoreFromFile(ctx context.Context, tool string, args, env []string, payload io.Reader, download *progressReader, id string, o PostgresRestore) error {
	f, err := os.CreateTemp(o.TempDir, "quantx-db-restore-*.pgdump")
	if err != nil {
		return fmt.Errorf("spool for pg_restore -j: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, payload); err != nil {
		f.Close()
		return fmt.Errorf("spool to %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool to %s: %w", f.Name(), err)
	}
	download.finish()
	args = append(args, "--jobs="+strconv.Itoa(o.Jobs))
	if c.o.Progress == nil {
		_, err = runTool(ctx, tool, append(args, f.Name()), env, nil)
		return err
	}
	// With a progress display: the archive's table of contents is the total, and pg_restore
	// --verbose names each entry as it starts (serial part) or finishes (parallel part).
	toc, err := runTool(ctx, tool, []string{"--list", f.Name()}, env, nil)
	if err != nil {
		return err
	}
	items := tocItems(string(toc))
	cnt := progress.NewCounter(c.o.Progress, progress.Event{Phase: "restore", Subject: id, Unit: progress.Items, Total: int64(len(items))})
	defer cnt.Finish()
	cmd := toolCommand(ctx, tool, append(args, "--verbose", f.Name()), env)
	tail := &tailBuffer{}
	rl := &restoreLog{tail: tail, item: cnt.SetItem, items: items, done: map[string]bool{}, count: cnt}
	cmd.Stderr = rl
	rerr := cmd.Run()
	rl.flush()
	if rerr != nil {
		return &toolError{Tool: "pg_restore", Stderr: tail.String(), Err: rerr}
	}
	return nil
}

// CheckRestore compares the database at url with the row counts (and checksums, when the manifest has
// them) recorded at backup time, in one snapshot.
func CheckRestore(ctx context.Context, url string, m Manifest) (RestoreCheck, error) {
	return checkRestore(ctx, url, m, nil)
}

func checkRestore(ctx context.Context, url string, m Manifest, prog progress.Func) (RestoreCheck, error) {
	conn, err := pgcancel.Connect(ctx, url)
	if err != nil {
		return RestoreCheck{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return RestoreCheck{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	present, err := userTables(ctx, tx)
	if err != nil {
		return RestoreCheck{}, err
	}
	have := map[string]bool{}
	for _, t := range present {
		have[t] = true
	}
	names := make([]string, 0, len(m.TableCounts))
	for t := range m.TableCounts {
		names = append(names, t)
	}
	sort.Strings(names)
	var existing []string
	for _, t := range names {
		if have[t] {
			existing = append(existing, t)
		}
	}
	counts, sums, err := tableStats(ctx, tx, existing, len(m.TableSums) > 0,
		progress.Event{Phase: "verify", Subject: m.ID}, prog)
	if err != nil {
		return RestoreCheck{}, err
	}
	chk := RestoreCheck{OK: true, Tables: []TableCheck{}}
	for _, t := range names {
		tc := TableCheck{Table: t, ExpectedRows: m.TableCounts[t], ActualRows: -1, ExpectedChecksum: m.TableSums[t]}
		if have[t] {
			tc.ActualRows = counts[t]
			tc.ActualChecksum = sums[t]
		}
		tc.OK = tc.ActualRows == tc.ExpectedRows && tc.ActualChecksum == tc.ExpectedChecksum
		chk.OK = chk.OK && tc.OK
		chk.Tables = append(chk.Tables, tc)
	}
	return chk, nil
}

// checkRestore is the dry run's look at the bucket and the disk, after the
// checks RestorePostgres shares with the real run.
func (c *Catalogue) checkRestore(ctx context.Context, m Manifest, o PostgresRestore, res RestoreResult) (RestoreResult, error) {
	res.DryRun, res.Bytes = true, m.Size
	st, err := c.store.Stat(ctx, m.Key)
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", m.ID, err)
	}
	if st.Size != m.Size {
		return res, fmt.Errorf("restore %s: %w: %s is %d bytes in the bucket, the manifest says %d", m.ID, ErrChecksumMismatch, m.Key, st.Size, m.Size)
	}
	res.Checked = append(res.Checked, fmt.Sprintf("object %s in the bucket, %d bytes", m.Key, st.Size))
	if m.Encryption == encAge { // the header says whether an identity opens it; nothing more is read
		obj, err := c.store.Get(ctx, m.Key)
		if err != nil {
			return res, fmt.Errorf("restore %s: %w", m.ID, err)
		}
		_, err = openPayload(obj, m, o.Identities)
		obj.Close()
		if err != nil {
			return res, err
		}
		res.Checked = append(res.Checked, "the given age identity opens the encryption")
	}
	if o.Jobs > 1 {
		dir := o.TempDir
		if dir == "" {
			dir = os.TempDir()
		}
		free, ok, err := freeSpace(dir)
		if err != nil {
			return res, fmt.Errorf("restore %s: spool for pg_restore -j: %w", m.ID, err)
		}
		if ok && free < uint64(m.Size) {
			return res, fmt.Errorf("restore %s: %w: %s has %d bytes free, the dump needs %d", m.ID, ErrNoSpace, dir, free, m.Size)
		}
		if ok {
			res.Checked = append(res.Checked, fmt.Sprintf("%s has room for the spool file (%d bytes free)", dir, free))
		}
	}
	return res, nil
}
