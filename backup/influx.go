package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// Sentinel errors of InfluxDB backups.
var (
	// ErrNoDatabase means the server has no database (1.x) or no bucket (2.x) of the name to back up.
	ErrNoDatabase = errors.New("database not found on the server")
	// ErrNoBuckets is the 2.x name of ErrNoDatabase, kept for callers that branch on it.
	ErrNoBuckets = ErrNoDatabase
	// ErrRPCUnreachable means influxd's backup/restore address (1.x) did not answer in time.
	ErrRPCUnreachable = errors.New("influxdb backup/restore address unreachable")
	// ErrInfluxNotReady means a 1.x restore ran, but the server had not loaded every restored shard,
	// or the restored database did not answer queries, within InfluxRestore.ReadyTimeout.
	ErrInfluxNotReady = errors.New("restored influxdb database not ready")
)

// InfluxBackup says what to back up from an InfluxDB server. The server's version, read from URL,
// picks the method: on 1.x influxd backup -portable through the RPC address (URL optional: without
// it the server is taken for 1.x); on 2.x the HTTP backup API (URL, Token, Org), for the buckets of
// Database: the one named Database and those named Database/<tier>.
type InfluxBackup struct {
	InfluxServer
	Database string // required
	// Start and End limit the points backed up. Give both or neither: influxd 1.6.7 mishandles one alone.
	Start, End time.Time
	Recipients []age.Recipient
	TempDir    string // where the archive's files are written before the upload; "" is os.TempDir()
	// RetryFor is how long the 2.x backup API's transient answers are retried (0: 30s): a 2.7 server
	// answers a shard read with 500 "snapshots disabled" for a moment while writes reach it.
	RetryFor time.Duration
}

// InfluxServer is how a backup or a restore reaches an InfluxDB server.
type InfluxServer struct {
	// HTTP API: on 1.x optional (a backup records the server version and checks the database
	// exists; a restore checks the name is free and waits for the shards); on 2.x required, with an
	// operator token.
	URL, Token string
	// Org is the 2.x organization: a backup takes only its buckets ("" all), a restore goes into
	// it ("" the one recorded in the backup).
	Org string
	RPC string // 1.x backup/restore address (host:8088); no authentication on it, loopback or private only
	// RPCTimeout bounds the connection to RPC and how long influxd may make no progress before it is
	// stopped (influxd itself retries a dead address for minutes, silently). 0 means 15s.
	RPCTimeout time.Duration
	Influxd    string // influxd binary (1.x); "" is "influxd" from PATH
}

// influxEngine is one major version's way to back up and restore a database. BackupInflux picks it
// once from the server's version, RestoreInflux from the archive's format; nothing else switches on
// the version.
type influxEngine interface {
	// format and tool describe the archive in the manifest.
	format() string
	tool(ctx context.Context) (string, error)
	// exists reports whether the database (1.x) or any bucket of it (2.x) is on the server; known is
	// false when the engine cannot tell (1.x without the HTTP API).
	exists(ctx context.Context, database string) (found, known bool, err error)
	// backup writes the archive's files of o.Database into dir.
	backup(ctx context.Context, o InfluxBackup, dir string) error
	// restore loads the archive extracted in dir, of database m.Database, as target.
	restore(ctx context.Context, m Manifest, dir, target string) error
}

// BackupInflux backs up one database into a temporary folder and streams it as a gzip tar into the
// bucket, then writes the manifest.
func (c *Catalogue) BackupInflux(ctx context.Context, o InfluxBackup) (Manifest, error) {
	started := c.o.Now().UTC()
	if o.Database == "" {
		return Manifest{}, fmt.Errorf("backup influx: database is required")
	}
	fail := func(err error) (Manifest, error) {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	if o.Start.IsZero() != o.End.IsZero() {
		return fail(ErrInvalidTimeWindow)
	}
	c.abortStale(ctx)
	eng, srv, err := c.backupEngine(ctx, o)
	if err != nil {
		return fail(err)
	}
	toolVersion, err := eng.tool(ctx)
	if err != nil {
		return fail(err)
	}
	if found, known, err := eng.exists(ctx, o.Database); err != nil {
		return fail(err)
	} else if known && !found {
		return fail(fmt.Errorf("%w: no database %s (on 2.x: no bucket %s or %s/<tier>)", ErrNoDatabase, o.Database, o.Database, o.Database))
	}
	id := NewID(started, KindInflux, o.Database)
	m := Manifest{FormatVersion: manifestFormat, ID: id, Kind: KindInflux, Database: o.Database,
		ServerVersion: srv, ToolVersion: toolVersion, QuantxVersion: c.o.ToolVersion, StartedAt: started,
		Format: eng.format(), Encryption: encNone, Recipients: recipientStrings(o.Recipients)}
	if len(o.Recipients) > 0 {
		m.Encryption, m.Format = encAge, "age("+m.Format+")"
	}
	log := c.log.With("backup", id, "database", o.Database)
	dir, err := os.MkdirTemp(o.TempDir, "quantx-db-influx-backup-*")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	log.InfoContext(ctx, "influx backup started", "server", srv)
	if err := eng.backup(ctx, o, dir); err != nil {
		return fail(err)
	}
	if err := c.uploadInfluxDir(ctx, &m, dir, o.Recipients); err != nil {
		return fail(err)
	}
	log.InfoContext(ctx, "backup finished", "bytes", m.Size)
	return m, nil
}

// backupEngine reads the server's version (when o.URL is set) and returns the engine of its major
// version, and the version as the server reported it ("" without a URL: then the server is taken
// for 1.x).
func (c *Catalogue) backupEngine(ctx context.Context, o InfluxBackup) (influxEngine, string, error) {
	v1 := &influxV1{rpc: o.RPC, rpcTimeout: o.RPCTimeout, influxd: o.Influxd, log: c.log}
	if o.URL == "" {
		return v1, "", nil
	}
	client, err := influxclient.New(influxclient.Options{URL: o.URL, Token: o.Token, RetryFor: o.RetryFor, Logger: c.log})
	if err != nil {
		return nil, "", err
	}
	srv, err := client.Server(ctx)
	if err != nil {
		return nil, "", err
	}
	if srv.Version.Major == 2 {
		return &influxV2{client: client, org: o.Org, log: c.log}, srv.Version.Raw, nil
	}
	v1.client = client
	return v1, srv.Version.Raw, nil
}

// uploadInfluxDir streams dir as a gzip tar (age-encrypted when recipients are given) into the backup's
// folder, then writes the manifest. On failure it removes what it uploaded: no manifest, no backup.
func (c *Catalogue) uploadInfluxDir(ctx context.Context, m *Manifest, dir string, recipients []age.Recipient) error {
	ok := false
	defer func() {
		if !ok {
			c.removeFolder(ctx, m.ID)
		}
	}()
	tr := tarGz(dir)
	defer tr.Close()
	pr := c.progress(tr, "upload", m.ID, 0)
	var src io.Reader = pr
	if len(recipients) > 0 {
		enc := encryptStream(pr, recipients)
		defer enc.Close()
		src = enc
	}
	name := safeFileName(m.Database) + ".influx.tar.gz"
	if m.Encryption == encAge {
		name += ".age"
	}
	res, err := c.store.Put(ctx, folder(m.ID)+name, src, map[string]string{"quantx-backup-id": m.ID})
	pr.finish()
	if err != nil {
		return err
	}
	m.Key, m.Size, m.SHA256 = res.Key, res.Size, res.SHA256
	m.Objects = []Object{{Role: "influx", Key: res.Key, Size: res.Size, SHA256: res.SHA256}}
	if err := c.writeManifest(ctx, m); err != nil {
		return err
	}
	ok = true
	return nil
}

// tarGz streams the regular files of dir (flat: influxd backup writes no subfolders) as a gzip tar.
func tarGz(dir string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		gz, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed) // shard files are already compressed
		tw := tar.NewWriter(gz)
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = gz.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// untar extracts regular files of a tar into dir, refusing paths that leave it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.Clean(filepath.FromSlash(hdr.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("archive entry %q leaves the folder", hdr.Name)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
}

// InfluxRestore says where to restore an InfluxDB backup.
type InfluxRestore struct {
	InfluxServer
	// NewDatabase is the name to restore as; "" restores under the original name, which must not exist
	// (neither version restores onto an existing database).
	NewDatabase string
	Identities  []age.Identity
	TempDir     string
	// ReadyTimeout bounds the wait, after influxd restore (1.x) has exited, for the server to load
	// every restored shard and for the database to answer (0: 5 minutes): influxd exits before
	// the server has loaded the last shards.
	ReadyTimeout time.Duration
	RetryFor     time.Duration // as InfluxBackup.RetryFor
}

// RestoreInflux downloads the archive, checks it against the manifest, and loads it with the method
// of the version that made it, after checking that the target name is free.
func (c *Catalogue) RestoreInflux(ctx context.Context, id string, o InfluxRestore) (RestoreResult, error) {
	m, err := c.Manifest(ctx, id)
	if err != nil {
		return RestoreResult{}, err
	}
	if m.Kind != KindInflux {
		return RestoreResult{}, fmt.Errorf("restore influx %s: %w (%s)", id, ErrWrongKind, m.Kind)
	}
	target := o.NewDatabase
	if target == "" {
		target = m.Database
	}
	res := RestoreResult{ID: id, Kind: KindInflux, Target: target, Jobs: 1, Manifest: m}
	fail := func(err error) (RestoreResult, error) {
		return res, fmt.Errorf("restore influx %s as %s: %w", id, target, err)
	}
	eng, err := c.restoreEngine(ctx, m, o)
	if err != nil {
		return fail(err)
	}
	if _, err := eng.tool(ctx); err != nil {
		return fail(err)
	}
	if found, _, err := eng.exists(ctx, target); err != nil {
		return fail(err)
	} else if found {
		return fail(ErrDatabaseExists)
	}
	dir, err := os.MkdirTemp(o.TempDir, "quantx-db-influx-restore-*")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if res.Bytes, err = c.fetchInfluxArchive(ctx, m, o.Identities, dir); err != nil {
		return fail(err)
	}
	if err := eng.restore(ctx, m, dir, target); err != nil {
		return fail(err)
	}
	c.log.InfoContext(ctx, "restore finished", "backup", id, "database", target)
	return res, nil
}

// restoreEngine is the engine of the version that made the archive.
func (c *Catalogue) restoreEngine(ctx context.Context, m Manifest, o InfluxRestore) (influxEngine, error) {
	var client *influxclient.Client
	if o.URL != "" {
		var err error
		if client, err = influxclient.New(influxclient.Options{URL: o.URL, Token: o.Token, RetryFor: o.RetryFor, Logger: c.log}); err != nil {
			return nil, err
		}
	}
	if strings.Contains(m.Format, influxV2Format) {
		if client == nil {
			return nil, errors.New("the InfluxDB 2.x URL and an operator token are required")
		}
		return &influxV2{client: client, org: o.Org, log: c.log}, nil
	}
	return &influxV1{rpc: o.RPC, rpcTimeout: o.RPCTimeout, influxd: o.Influxd, client: client, readyTimeout: o.ReadyTimeout, log: c.log}, nil
}

// fetchInfluxArchive downloads the backup's archive into dir, checking size and sha256 against the
// manifest on the way (decrypting with ids when it is encrypted), and returns the bytes read.
func (c *Catalogue) fetchInfluxArchive(ctx context.Context, m Manifest, ids []age.Identity, dir string) (int64, error) {
	obj, err := c.store.Get(ctx, m.Key)
	if err != nil {
		return 0, err
	}
	defer obj.Close()
	pr := c.progress(obj, "download", m.ID, m.Size)
	checked := newCheckedReader(pr, m.Key, m.Size, m.SHA256)
	payload, err := openPayload(checked, m, ids)
	if err != nil {
		return 0, err
	}
	gz, err := gzip.NewReader(payload)
	if err != nil {
		return 0, err
	}
	if err := untar(gz, dir); err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, payload); err != nil { // finish the checksum
		return 0, err
	}
	pr.finish()
	return pr.p.Bytes, nil
}
