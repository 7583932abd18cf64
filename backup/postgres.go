package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/pgcancel"
	"github.com/quantx/quantx-db/internal/progress"
)

// PostgresBackup says what to back up and how.
type PostgresBackup struct {
	DatabaseURL string // connection URL of the database to dump; its password never reaches argv
	Tools       PGTools
	// Recipients encrypt every object (age, streamed). Empty: plain pg_dump -Fc, restorable with stock tools.
	Recipients []age.Recipient
	// WithRolePasswords keeps role password hashes in globals.sql (default: --no-role-passwords).
	WithRolePasswords bool
	// SkipGlobals skips pg_dumpall --globals-only (managed services that refuse it).
	SkipGlobals bool
	// Checksums records a per-table checksum beside the row counts. It reads every row once more and
	// aggregates one md5 per row in memory: meant for databases of a few GB at most.
	Checksums bool
	// SkipCounts leaves table_counts out of the manifest. Counting reads every table once more, in the
	// dump's snapshot and at the same time as the dump (about +5% wall time on 2 cores); without the
	// counts, restore --verify has nothing to compare.
	SkipCounts bool
	// Compress is pg_dump's -Z level 1-9 (1 is about twice as fast for a 3% larger dump); 0 leaves
	// pg_dump's default (6).
	Compress int
}

// BackupPostgres streams pg_dump -Fc of the database into the bucket, with globals.sql beside it and the
// manifest last. Row counts (and checksums) come from the same snapshot as the dump: a REPEATABLE READ
// transaction exports its snapshot and pg_dump runs with --snapshot while the counts run in it.
func (c *Catalogue) BackupPostgres(ctx context.Context, o PostgresBackup) (Manifest, error) {
	started := c.o.Now().UTC()
	c.abortStale(ctx)

	conn, err := pgcancel.Connect(ctx, o.DatabaseURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	si, err := readServerInfo(ctx, conn)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres: %w", err)
	}
	major := ServerMajor(si.VersionNum)
	pgDump, dumpVersion, err := o.Tools.resolveTool(ctx, "pg_dump", major)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, err)
	}
	dbname, env := o.Tools.toolConn(o.DatabaseURL)

	id := NewID(started, KindPostgres, si.Database)
	m := Manifest{FormatVersion: manifestFormat, ID: id, Kind: KindPostgres, Database: si.Database,
		ServerVersion: si.Version, ToolVersion: "pg_dump " + dumpVersion, QuantxVersion: c.o.ToolVersion,
		StartedAt: started, Format: "pg_dump -Fc", Encryption: encNone, Recipients: recipientStrings(o.Recipients)}
	if len(o.Recipients) > 0 {
		m.Encryption, m.Format = encAge, "age(pg_dump -Fc)"
	}
	log := c.log.With("backup", id, "database", si.Database)
	log.InfoContext(ctx, "backup started", "server_version", si.Version, "tool", pgDump)
	ok := false
	defer func() {
		if !ok {
			c.removeFolder(ctx, id)
		}
	}()

	// Roles and tablespaces (pg_dumpall --globals-only, ~0.1 s with its upload) run beside the dump
	// instead of before it; the backup waits for them before its manifest.
	type globalsResult struct {
		obj Object
		err error
	}
	globals := make(chan globalsResult, 1)
	var globalsDone sync.WaitGroup
	// Every return waits for it, before the deferred clean-up above removes a failed backup's folder:
	// no globals.sql may land in it afterwards.
	defer globalsDone.Wait()
	if o.SkipGlobals {
		close(globals)
	} else {
		globalsDone.Go(func() {
			obj, err := c.backupGlobals(ctx, o, id, major, dbname, env)
			globals <- globalsResult{obj, err}
		})
	}

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: begin snapshot: %w", si.Database, err)
	}
	// The transaction stays open until pg_dump is done: pg_dump imports the snapshot at its start, and
	// the counts read in it while the dump runs.
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: export snapshot: %w", si.Database, err)
	}
	tables, err := userTables(ctx, tx)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, err)
	}

	args := []string{"--format=custom", "--snapshot=" + snapshot, "--no-password", "--dbname=" + dbname}
	if o.Compress >= 1 && o.Compress <= 9 {
		args = append(args, fmt.Sprintf("--compress=%d", o.Compress))
	}
	dumpCtx, cancelDump := context.WithCancel(ctx)
	defer cancelDump()
	dump, err := startStream(dumpCtx, pgDump, args, env)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, err)
	}
	defer dump.Close()

	type stats struct {
		counts map[string]int64
		sums   map[string]string
		err    error
	}
	statsCh := make(chan stats, 1)
	countCtx, cancelCount := context.WithCancel(ctx)
	defer cancelCount()
	if o.SkipCounts {
		tables = nil
	}
	go func() {
		counts, sums, err := tableStats(countCtx, tx, tables, o.Checksums, progress.Event{Phase: "count rows", Subject: si.Database}, c.o.Progress)
		statsCh <- stats{counts, sums, err}
	}()

	key := folder(id) + dumpFileName(si.Database, m.Encryption)
	pr := c.progress(dump, "upload", id, 0)
	var src io.Reader = pr
	if len(o.Recipients) > 0 {
		enc := encryptStream(pr, o.Recipients)
		defer enc.Close()
		src = enc
	}
	res, err := c.store.Put(ctx, key, src, map[string]string{"quantx-backup-id": id})
	pr.finish()
	if err != nil {
		cancelDump()
		cancelCount() // no point counting a big table for a backup that failed
	}
	st := <-statsCh // the counts share the connection: wait for them before anything else uses it
	if err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, err)
	}
	if err := dump.wait(); err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, err)
	}
	if st.err != nil {
		return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, st.err)
	}
	if g, ok := <-globals; ok {
		if g.err != nil {
			return Manifest{}, fmt.Errorf("backup postgres %s: %w", si.Database, g.err)
		}
		m.Objects = append(m.Objects, g.obj)
	}
	if !o.SkipCounts {
		m.TableCounts, m.TableSums = st.counts, st.sums
	}
	m.Key, m.Size, m.SHA256 = key, res.Size, res.SHA256
	m.Objects = append([]Object{{Role: "dump", Key: key, Size: res.Size, SHA256: res.SHA256}}, m.Objects...)
	if err := c.writeManifest(ctx, &m); err != nil {
		return Manifest{}, err
	}
	ok = true
	log.InfoContext(ctx, "backup finished", "bytes", m.Size, "duration", m.FinishedAt.Sub(m.StartedAt), "tables", len(m.TableCounts))
	return m, nil
}

func dumpFileName(db, encryption string) string {
	name := safeFileName(db) + ".pgdump"
	if encryption == encAge {
		name += ".age"
	}
	return name
}

func safeFileName(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	if s == "" {
		return "db"
	}
	return s
}

// backupGlobals stores pg_dumpall --globals-only: roles and tablespaces, which pg_dump leaves out.
func (c *Catalogue) backupGlobals(ctx context.Context, o PostgresBackup, id string, major int, dbname string, env []string) (Object, error) {
	tool, _, err := o.Tools.resolveTool(ctx, "pg_dumpall", major)
	if err != nil {
		return Object{}, err
	}
	args := []string{"--globals-only", "--no-password", "--dbname=" + dbname}
	if !o.WithRolePasswords {
		args = append(args, "--no-role-passwords")
	}
	out, err := runTool(ctx, tool, args, env, nil)
	if err != nil {
		return Object{}, err
	}
	name := "globals.sql"
	if len(o.Recipients) > 0 {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, o.Recipients...)
		if err != nil {
			return Object{}, fmt.Errorf("age encrypt: %w", err)
		}
		w.Write(out)
		if err := w.Close(); err != nil {
			return Object{}, fmt.Errorf("age encrypt: %w", err)
		}
		out, name = buf.Bytes(), name+".age"
	}
	res, err := c.store.PutBytes(ctx, folder(id)+name, out, map[string]string{"quantx-backup-id": id})
	if err != nil {
		return Object{}, err
	}
	return Object{Role: "globals", Key: res.Key, Size: res.Size, SHA256: res.SHA256}, nil
}

// writeManifest stores the manifest: the moment the backup starts to exist.
func (c *Catalogue) writeManifest(ctx context.Context, m *Manifest) error {
	m.FinishedAt = c.o.Now().UTC()
	if m.Recipients == nil {
		m.Recipients = []string{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest %s: %w", m.ID, err)
	}
	if _, err := c.store.PutBytes(ctx, folder(m.ID)+manifestName, append(b, '\n'), map[string]string{"quantx-backup-id": m.ID}); err != nil {
		return fmt.Errorf("write manifest %s: %w", m.ID, err)
	}
	return nil
}

// removeFolder deletes what a failed run stored (best effort: prune removes leftovers).
func (c *Catalogue) removeFolder(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	objs, err := c.store.List(ctx, folder(id))
	if err != nil {
		c.log.WarnContext(ctx, "cleanup after failed backup", "backup", id, "error", err)
		return
	}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if err := c.store.Remove(ctx, keys...); err != nil {
		c.log.WarnContext(ctx, "cleanup after failed backup", "backup", id, "error", err)
	}
}

// abortStale aborts the multipart uploads that earlier runs left when they were killed, under backups/ and
// Options.StalePrefixes, once idle for Options.StaleAfter. It only warns: a backup must not fail because
// the cleanup of an older one did.
func (c *Catalogue) abortStale(ctx context.Context) []string {
	ups, err := c.store.AbortStale(ctx, c.o.StaleAfter, c.stalePrefixes()...)
	if err != nil {
		c.log.WarnContext(ctx, "abort stale uploads", "error", err)
	}
	out := []string{}
	for _, u := range ups {
		out = append(out, u.Key)
	}
	return out
}

func (c *Catalogue) stalePrefixes() []string {
	return append([]string{backupsPrefix}, c.o.StalePrefixes...)
}
