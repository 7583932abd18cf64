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
	sc, err := c.scan(ctx)
	if err != nil {
		return nil, err
	}
	return sc.manifests, nil
}

// scanned is one pass over backups/: the manifests, newest first, and which backups have a
// verification record.
type scanned struct {
	manifests []Manifest
	verified  map[string]bool
}

// scan lists backups/ once and reads every manifest.
func (c *Catalogue) scan(ctx context.Context) (scanned, error) {
	objs, err := c.store.List(ctx, backupsPrefix)
	if err != nil {
		return scanned{}, fmt.Errorf("list backups: %w", err)
	}
	sc := scanned{manifests: []Manifest{}, verified: map[string]bool{}}
	for _, o := range objs {
		id, name, ok := folderKey(o.Key)
		switch {
		case !ok:
		case name == manifestName:
			m, err := c.Manifest(ctx, id)
			if err != nil {
				return scanned{}, err
			}
			sc.manifests = append(sc.manifests, m)
		case name == verificationName:
			sc.verified[id] = true
		}
	}
	sortNewestFirst(sc.manifests)
	return sc, nil
}

func sortNewestFirst(ms []Manifest) {
	sort.SliceStable(ms, func(i, j int) bool {
		if !ms[i].StartedAt.Equal(ms[j].StartedAt) {
			return ms[i].StartedAt.After(ms[j].StartedAt)
		}
		return ms[i].ID > ms[j].ID
	})
}

// folderKey splits a key "backups/<id>/<name>" of a valid backup ID.
func folderKey(key string) (id, name string, ok bool) {
	rest, ok := strings.CutPrefix(key, backupsPrefix)
	if !ok {
		return "", "", false
	}
	id, name, ok = strings.Cut(rest, "/")
	return id, name, ok && ValidID(id)
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

// Newest is the newest backup of one kind and database, for status reports.
type Newest struct {
	Kind       Kind      `json:"kind"`
	ID         string    `json:"id"`
	Database   string    `json:"database"`
	FinishedAt time.Time `json:"finished_at"`
	Size       int64     `json:"size"` // bytes of all its objects (Manifest.StoredSize)
}

// Newest returns the newest backup of each kind and database that has one, by kind (postgres, influx)
// then database. Age is now minus FinishedAt; the catalogue reads manifests only, so a backup that is
// still running does not count.
func (c *Catalogue) Newest(ctx context.Context) ([]Newest, error) {
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []Newest{}
	for _, g := range Summarize(all, nil, c.o.Now()) {
		m := g.newest
		out = append(out, Newest{Kind: m.Kind, ID: m.ID, Database: m.Database, FinishedAt: m.FinishedAt, Size: m.StoredSize()})
	}
	return out, nil
}

// StoredSize is the bytes of all the backup's objects (dump, globals, archive), as its manifest
// records them; Size for a physical set (pgBackRest's repository delta).
func (m Manifest) StoredSize() int64 {
	if len(m.Objects) == 0 {
		return m.Size
	}
	var n int64
	for _, o := range m.Objects {
		n += o.Size
	}
	return n
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
// checked at all (no manifest, S3 unreachable). The outcome is recorded as the backup's last
// verification (LastVerification).
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
	c.recordVerification(ctx, objectsVerification(res))
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
