package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/s3store"
)

// List returns every backup that has a manifest, newest first. Folders without a manifest (a run that
// died, or one still running) are not backups and are not listed.
func (c *Catalogue) List(ctx context.Context) ([]Manifest, error) {
	objs, err := c.store.List(ctx, backupsPrefix)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := []Manifest{}
	for _, o := range objs {
		id, ok := manifestID(o.Key)
		if !ok {
			continue
		}
		m, err := c.Manifest(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sortNewestFirst(out)
	return out, nil
}

func sortNewestFirst(ms []Manifest) {
	sort.SliceStable(ms, func(i, j int) bool {
		if !ms[i].StartedAt.Equal(ms[j].StartedAt) {
			return ms[i].StartedAt.After(ms[j].StartedAt)
		}
		return ms[i].ID > ms[j].ID
	})
}

// manifestID returns the ID of a key "backups/<id>/manifest.json".
func manifestID(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, backupsPrefix)
	if !ok {
		return "", false
	}
	id, name, ok := strings.Cut(rest, "/")
	return id, ok && name == manifestName && ValidID(id)
}

// Manifest reads the manifest of backup id. A missing manifest is ErrNotFound.
func (c *Catalogue) Manifest(ctx context.Context, id string) (Manifest, error) {
	if !ValidID(id) {
		return Manifest{}, fmt.Errorf("backup %q: %w (IDs look like 20261126T174500Z-postgres-quantx-k3j9x2)", id, ErrNotFound)
	}
	r, err := c.store.Get(ctx, folder(id)+manifestName)
	if errors.Is(err, s3store.ErrNotFound) {
		return Manifest{}, fmt.Errorf("backup %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest of %s: %w", id, err)
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("read manifest of %s: %w", id, err)
	}
	if m.ID != id {
		return Manifest{}, fmt.Errorf("manifest of %s names backup %q", id, m.ID)
	}
	if m.Objects == nil {
		m.Objects = []Object{}
	}
	if m.Recipients == nil {
		m.Recipients = []string{}
	}
	return m, nil
}

// Newest is the newest backup of one kind, for status reports.
type Newest struct {
	Kind       Kind      `json:"kind"`
	ID         string    `json:"id"`
	Database   string    `json:"database"`
	FinishedAt time.Time `json:"finished_at"`
	Size       int64     `json:"size"`
}

// Newest returns the newest backup of each kind that has one (postgres first). Age is now minus
// FinishedAt; the catalogue reads manifests only, so a backup that is still running does not count.
func (c *Catalogue) Newest(ctx context.Context) ([]Newest, error) {
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	return newestPerKind(all), nil
}

func newestPerKind(all []Manifest) []Newest {
	out := []Newest{}
	for _, k := range []Kind{KindPostgres, KindInflux} {
		for _, m := range all { // newest first
			if m.Kind == k {
				out = append(out, Newest{Kind: k, ID: m.ID, Database: m.Database, FinishedAt: m.FinishedAt, Size: m.Size})
				break
			}
		}
	}
	return out
}

// VerifyResult is the outcome of re-reading a backup's objects.
type VerifyResult struct {
	ID      string        `json:"id"`
	OK      bool          `json:"ok"`
	Objects []ObjectCheck `json:"objects"`
}

// ObjectCheck compares one stored object with its manifest entry.
type ObjectCheck struct {
	Role           string `json:"role"`
	Key            string `json:"key"`
	ExpectedSize   int64  `json:"expected_size"`
	ActualSize     int64  `json:"actual_size"`
	ExpectedSHA256 string `json:"expected_sha256"`
	ActualSHA256   string `json:"actual_sha256"`
	OK             bool   `json:"ok"`
	Problem        string `json:"problem,omitempty"`
}

// Verify re-reads every object of backup id and compares size and SHA-256 with the manifest. A
// mismatch is reported in the result (OK false), not as an error; errors are for what could not be
// checked at all (no manifest, S3 unreachable).
func (c *Catalogue) Verify(ctx context.Context, id string) (VerifyResult, error) {
	m, err := c.Manifest(ctx, id)
	if err != nil {
		return VerifyResult{}, err
	}
	res := VerifyResult{ID: id, OK: true, Objects: []ObjectCheck{}}
	for _, o := range m.Objects {
		ch := ObjectCheck{Role: o.Role, Key: o.Key, ExpectedSize: o.Size, ExpectedSHA256: o.SHA256}
		r, err := c.store.Get(ctx, o.Key)
		switch {
		case errors.Is(err, s3store.ErrNotFound):
			ch.Problem = "object missing"
		case err != nil:
			return VerifyResult{}, fmt.Errorf("verify %s: %w", id, err)
		default:
			h := sha256.New()
			pr := c.progress(r, "verify", id, o.Size)
			n, err := io.Copy(h, pr)
			pr.finish()
			r.Close()
			if err != nil {
				return VerifyResult{}, fmt.Errorf("verify %s: read %s: %w", id, o.Key, err)
			}
			ch.ActualSize, ch.ActualSHA256 = n, hex.EncodeToString(h.Sum(nil))
			switch {
			case n != o.Size:
				ch.Problem = fmt.Sprintf("size %d, manifest says %d", n, o.Size)
			case ch.ActualSHA256 != o.SHA256:
				ch.Problem = "sha256 differs from the manifest"
			}
		}
		ch.OK = ch.Problem == ""
		res.OK = res.OK && ch.OK
		res.Objects = append(res.Objects, ch)
	}
	if !res.OK {
		c.log.WarnContext(ctx, "backup verification failed", "backup", id)
	}
	return res, nil
}

// checkedReader hashes what it passes on and fails at EOF when the size or SHA-256 differ from the
// manifest, so a restore never finishes on a corrupted object without saying so.
type checkedReader struct {
	r      io.Reader
	h      interface{ Sum([]byte) []byte }
	w      io.Writer
	n      int64
	size   int64
	sha    string
	key    string
	failed error
}

func newCheckedReader(r io.Reader, key string, size int64, sha string) *checkedReader {
	h := sha256.New()
	return &checkedReader{r: r, h: h, w: h, size: size, sha: sha, key: key}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.failed != nil {
		return 0, c.failed
	}
	n, err := c.r.Read(p)
	c.w.Write(p[:n])
	c.n += int64(n)
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(c.h.Sum(nil)); c.n != c.size || got != c.sha {
			c.failed = fmt.Errorf("%s: %d bytes with sha256 %s, manifest says %d bytes with %s: %w", c.key, c.n, got, c.size, c.sha, ErrChecksumMismatch)
			return n, c.failed
		}
	}
	return n, err
}
