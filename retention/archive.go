package retention

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/progress"
)

// ArchiveFormat names the archive layout; it is written into every manifest
// so that a reader can tell future layouts apart.
const ArchiveFormat = "quantx-db/partition-archive/v1: gzip-compressed CSV (PostgreSQL COPY FORMAT csv, HEADER true, UTF-8)"

// Archive describes one partition archive in the bucket. The same struct,
// plus the fields below, is the manifest stored beside the data object.
type Archive struct {
	Key         string `json:"key"`          // the .csv.gz object, relative to the store prefix
	ManifestKey string `json:"manifest_key"` // the .manifest.json beside it
	Rows        int64  `json:"rows"`         // rows COPY wrote (from its command tag, not by counting lines)
	Bytes       int64  `json:"bytes"`        // size of the compressed object
	SHA256      string `json:"sha256"`       // of the compressed object, as stored
	Verified    bool   `json:"verified"`     // read back from the bucket: size and sha256 match
}

// manifest is the JSON document stored next to each archive.
type manifest struct {
	Format    string    `json:"format"`
	Database  string    `json:"database"`
	Schema    string    `json:"schema"`
	Table     string    `json:"table"`
	Partition string    `json:"partition"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Columns   []string  `json:"columns"`
	Object    string    `json:"object"`
	Rows      int64     `json:"rows"`
	Bytes     int64     `json:"bytes"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// ArchivePrefix is where partition archives live, relative to the store's prefix.
const ArchivePrefix = "archive/"

// archiveKeys returns where a partition's archive and manifest live.
func archiveKeys(database, table, partition string) (data, man string) {
	base := ArchivePrefix + "postgres/" + database + "/" + table + "/" + partition
	return base + ".csv.gz", base + ".manifest.json"
}

// archivePartition streams `COPY (SELECT * FROM ONLY partition) TO STDOUT` as
// gzip CSV into the bucket, then reads the object back and compares size and
// sha256 with what was sent, then writes the manifest. Memory stays at one
// upload part whatever the partition's size.
func (r *Runner) archivePartition(ctx context.Context, conn *pgx.Conn, database string, pr PartitionReport) (*Archive, error) {
	schema := r.parts.Schema()
	cols, err := columnNames(ctx, conn, schema, pr.Partition)
	if err != nil {
		return nil, err
	}
	key, manKey := archiveKeys(database, "activity_logs", pr.Partition)
	a := &Archive{Key: key, ManifestKey: manKey}

	pipeR, pipeW := io.Pipe()
	copyDone := make(chan error, 1)
	// Rows are counted by line as COPY writes them (a quoted value with a newline counts twice: it
	// is a display; Archive.Rows comes from COPY's command tag). The total is the planner's estimate.
	rows := progress.NewCounter(r.opts.Progress, progress.Event{Phase: "archive", Subject: pr.Partition, Unit: progress.Rows, Total: pr.Rows})
	defer rows.Finish()
	go func() {
		zw, _ := gzip.NewWriterLevel(pipeW, gzip.BestSpeed) // level 1: COPY, not compression, should bound the time
		var dst io.Writer = zw
		if r.opts.Progress != nil {
			dst = lineCounter{zw, rows}
		}
		tag, err := conn.PgConn().CopyTo(ctx, dst, "COPY (SELECT * FROM ONLY "+pgx.Identifier{schema, pr.Partition}.Sanitize()+") TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')")
		if err == nil {
			err = zw.Close()
			a.Rows = tag.RowsAffected()
		}
		pipeW.CloseWithError(err) // nil closes with EOF
		copyDone <- err
	}()
	res, putErr := r.opts.Store.Put(ctx, key, pipeR, map[string]string{"quantx-rows-format": "csv+gzip"})
	pipeR.CloseWithError(fmt.Errorf("upload stopped: %w", putErr)) // unblocks COPY if the upload failed early
	copyErr := <-copyDone
	if copyErr != nil {
		return nil, fmt.Errorf("archive %s: copy: %w", pr.Partition, copyErr)
	}
	if putErr != nil {
		return nil, fmt.Errorf("archive %s: %w", pr.Partition, putErr)
	}
	a.Bytes, a.SHA256 = res.Size, res.SHA256
	rows.Set(a.Rows, a.Rows)

	if err := r.confirm(ctx, a); err != nil {
		return nil, fmt.Errorf("archive %s: %w", pr.Partition, err)
	}
	m := manifest{Format: ArchiveFormat, Database: database, Schema: schema, Table: "activity_logs", Partition: pr.Partition,
		From: pr.From, To: pr.To, Columns: cols, Object: key, Rows: a.Rows, Bytes: a.Bytes, SHA256: a.SHA256,
		CreatedAt: r.parts.Now()}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := r.opts.Store.PutBytes(ctx, manKey, append(b, '\n'), nil); err != nil {
		return nil, fmt.Errorf("archive %s: manifest: %w", pr.Partition, err)
	}
	if _, err := r.opts.Store.Stat(ctx, manKey); err != nil {
		return nil, fmt.Errorf("archive %s: manifest: %w: %w", pr.Partition, ErrArchiveNotConfirmed, err)
	}
	a.Verified = true
	return a, nil
}

// confirm stats the object and re-reads it: only bytes that are in the bucket
// and hash to what was sent count as archived.
func (r *Runner) confirm(ctx context.Context, a *Archive) error {
	st, err := r.opts.Store.Stat(ctx, a.Key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrArchiveNotConfirmed, err)
	}
	if st.Size != a.Bytes {
		return fmt.Errorf("%w: %s is %d bytes in the bucket, %d were sent", ErrArchiveNotConfirmed, a.Key, st.Size, a.Bytes)
	}
	rc, err := r.opts.Store.Get(ctx, a.Key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrArchiveNotConfirmed, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("%w: read back %s: %w", ErrArchiveNotConfirmed, a.Key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 {
		return fmt.Errorf("%w: %s has sha256 %s in the bucket, %s was sent", ErrArchiveNotConfirmed, a.Key, got, a.SHA256)
	}
	return nil
}

func columnNames(ctx context.Context, conn *pgx.Conn, schema, table string) ([]string, error) {
	rows, err := conn.Query(ctx, `
SELECT a.attname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// lineCounter counts the lines written through it, for the progress of an archive.
type lineCounter struct {
	w io.Writer
	c *progress.Counter
}

func (l lineCounter) Write(p []byte) (int, error) {
	l.c.Add(int64(bytes.Count(p, []byte{'\n'})))
	return l.w.Write(p)
}
