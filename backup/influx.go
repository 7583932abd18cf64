package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
)

// InfluxBackup says what to back up from an InfluxDB server. On 1.x it runs influxd backup -portable
// (RPC, Influxd); on 2.x, detected from URL, it uses the HTTP backup API (URL, Token, Org) and backs up
// the buckets of Database: the one named Database and those named Database/<tier>.
type InfluxBackup struct {
	Database string // required
	Org      string // 2.x: only buckets of this organization ("" all)
	RPC      string // backup/restore address (host:8088); no authentication on it, loopback or private only
	Influxd  string // influxd binary; "" is "influxd" from PATH
	// HTTP API: on 1.x optional (records the server version); on 2.x required, with an operator token.
	URL, Token string
	// Start and End limit the points backed up. Give both or neither: influxd 1.6.7 mishandles one alone.
	Start, End time.Time
	Recipients []age.Recipient
	TempDir    string // where influxd writes before the upload; "" is os.TempDir()
}

// BackupInflux runs influxd backup -portable into a temporary folder and streams it as a gzip tar into
// the bucket (influxd cannot write to a pipe: it writes several files).
func (c *Catalogue) BackupInflux(ctx context.Context, o InfluxBackup) (Manifest, error) {
	started := c.o.Now().UTC()
	if o.Database == "" {
		return Manifest{}, fmt.Errorf("backup influx: database is required")
	}
	if o.Start.IsZero() != o.End.IsZero() {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, ErrInvalidTimeWindow)
	}
	c.abortStale(ctx)
	serverVersion := influxServerVersion(ctx, o.URL, o.Token)
	if strings.HasPrefix(serverVersion, "2.") {
		return c.backupInfluxV2(ctx, o, serverVersion, started)
	}
	influxd := o.Influxd
	if influxd == "" {
		influxd = "influxd"
	}
	verOut, err := runTool(ctx, influxd, []string{"version"}, nil, nil)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w (%w)", o.Database, ErrToolMissing, err)
	}
	id := NewID(started, KindInflux, o.Database)
	m := Manifest{FormatVersion: manifestFormat, ID: id, Kind: KindInflux, Database: o.Database,
		ServerVersion: serverVersion, ToolVersion: strings.TrimSpace(string(verOut)),
		QuantxVersion: c.o.ToolVersion, StartedAt: started, Format: "tar.gz of influxd backup -portable",
		Encryption: encNone, Recipients: recipientStrings(o.Recipients)}
	if len(o.Recipients) > 0 {
		m.Encryption, m.Format = encAge, "age(tar.gz of influxd backup -portable)"
	}
	log := c.log.With("backup", id, "database", o.Database)
	dir, err := os.MkdirTemp(o.TempDir, "quantx-db-influx-backup-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	defer os.RemoveAll(dir)
	args := []string{"backup", "-portable", "-db", o.Database, "-host", o.RPC}
	if !o.Start.IsZero() {
		args = append(args, "-start", o.Start.UTC().Format(time.RFC3339), "-end", o.End.UTC().Format(time.RFC3339))
	}
	log.InfoContext(ctx, "influxd backup started", "rpc", o.RPC)
	if _, err := runTool(ctx, influxd, append(args, dir), nil, nil); err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	if err := c.uploadInfluxDir(ctx, &m, dir, o.Recipients); err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	log.InfoContext(ctx, "backup finished", "bytes", m.Size)
	return m, nil
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
	RPC     string
	Influxd string
	// NewDatabase is the name to restore as; "" restores under the original name, which must not exist
	// (influxd restore cannot restore onto an existing database).
	NewDatabase string
	URL, Token  string // HTTP API: 1.x optional (checks the name is free, waits for the shards); 2.x required
	Org         string // 2.x: restore into this organization ("" the one recorded in the backup)
	Identities  []age.Identity
	TempDir     string
	// ReadyTimeout bounds the wait for "shard is disabled" to go away after the restore (0: 30s).
	ReadyTimeout time.Duration
}

// RestoreInflux downloads the archive, checks it against the manifest, and runs influxd restore -portable.
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
	if strings.Contains(m.Format, influxV2Format) {
		return c.restoreInfluxV2(ctx, m, o, res)
	}
	if o.URL != "" {
		dbs, err := influxQuery(ctx, o.URL, o.Token, "SHOW DATABASES", "")
		if err != nil {
			return res, fmt.Errorf("restore influx %s: %w", id, err)
		}
		if strings.Contains(dbs, `["`+target+`"]`) {
			return res, fmt.Errorf("restore influx %s as %s: %w", id, target, ErrDatabaseExists)
		}
	}
	influxd := o.Influxd
	if influxd == "" {
		influxd = "influxd"
	}
	if _, err := exec.LookPath(influxd); err != nil {
		return res, fmt.Errorf("restore influx %s: %w (%w)", id, ErrToolMissing, err)
	}
	dir, err := os.MkdirTemp(o.TempDir, "quantx-db-influx-restore-*")
	if err != nil {
		return res, fmt.Errorf("restore influx %s: %w", id, err)
	}
	defer os.RemoveAll(dir)
	if res.Bytes, err = c.fetchInfluxArchive(ctx, m, o.Identities, dir); err != nil {
		return res, fmt.Errorf("restore influx %s: %w", id, err)
	}
	args := []string{"restore", "-portable", "-host", o.RPC, "-db", m.Database}
	if target != m.Database {
		args = append(args, "-newdb", target)
	}
	if _, err := runTool(ctx, influxd, append(args, dir), nil, nil); err != nil {
		return res, fmt.Errorf("restore influx %s as %s: %w", id, target, err)
	}
	if o.URL != "" {
		if err := waitShards(ctx, o, target); err != nil {
			return res, fmt.Errorf("restore influx %s as %s: %w", id, target, err)
		}
	}
	c.log.InfoContext(ctx, "restore finished", "backup", id, "database", target)
	return res, nil
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

// waitShards retries a query until the restored shards are enabled: right after influxd restore, reads
// fail for a moment with "shard is disabled" (or "engine is closed").
func waitShards(ctx context.Context, o InfluxRestore, db string) error {
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		_, err := influxQuery(ctx, o.URL, o.Token, `SELECT * FROM /.*/ LIMIT 1`, db)
		if err == nil || !transientRestoreError(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("shards still disabled after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// transientRestoreError matches what 1.8 answers while restored shards are being opened.
func transientRestoreError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "shard is disabled") || strings.Contains(s, "engine is closed")
}

// influxQuery runs one InfluxQL statement (1.x /query) and returns the raw JSON; statement errors,
// which 1.x reports with HTTP 200, come back as errors.
func influxQuery(ctx context.Context, base, token, q, db string) (string, error) {
	form := url.Values{"q": {q}}
	if db != "" {
		form.Set("db", db)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(token, ":"); ok {
		req.SetBasicAuth(user, pass)
	} else if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("influx query: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", fmt.Errorf("influx query: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("influx query: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("influx query: %w", err)
	}
	if out.Error != "" {
		return "", fmt.Errorf("influx query: %s", out.Error)
	}
	for _, r := range out.Results {
		if r.Error != "" {
			return "", fmt.Errorf("influx query: %s", r.Error)
		}
	}
	return string(body), nil
}

// influxServerVersion reads X-Influxdb-Version from /ping; "" when unknown.
func influxServerVersion(ctx context.Context, base, token string) string {
	if base == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/ping", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	return resp.Header.Get("X-Influxdb-Version")
}
