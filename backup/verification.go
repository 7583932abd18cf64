package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/quantx/quantx-db/internal/s3store"
)

// Verification is the outcome of the last check of one backup, stored as
// backups/<id>/verification.json beside the manifest. The manifest is never rewritten: it is what
// the backup run wrote, and its checksums are what a check compares with. Each check replaces the
// record with one S3 PUT, which readers see whole or not at all; prune deletes it with the backup.
type Verification struct {
	FormatVersion int    `json:"format_version"`
	ID            string `json:"id"`
	// Method is how the backup was checked: "objects" (backup verify: every object re-read, size and
	// SHA-256 compared with the manifest) or "restore" (restore --verify: restored, then the row
	// counts and checksums compared with the manifest).
	Method    string    `json:"method"`
	OK        bool      `json:"ok"`
	CheckedAt time.Time `json:"checked_at"`
	// Problems says what differed (empty when OK).
	Problems []string `json:"problems"`
	// Target is the database a "restore" check restored into (its name only).
	Target        string `json:"target,omitempty"`
	QuantxVersion string `json:"quantx_version"`
}

// Verification methods.
const (
	VerifyObjects = "objects"
	VerifyRestore = "restore"
)

const (
	verificationName   = "verification.json"
	verificationFormat = 1
)

// recordVerification stores v as the backup's last verification. A record that cannot be written
// (a read-only S3 user may verify) is a warning, never a failure of the check it records.
func (c *Catalogue) recordVerification(ctx context.Context, v Verification) {
	v.FormatVersion, v.QuantxVersion = verificationFormat, c.o.ToolVersion
	if v.CheckedAt.IsZero() {
		v.CheckedAt = c.o.Now().UTC()
	}
	if v.Problems == nil {
		v.Problems = []string{}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		_, err = c.store.PutBytes(context.WithoutCancel(ctx), folder(v.ID)+verificationName, append(b, '\n'),
			map[string]string{"quantx-backup-id": v.ID})
	}
	if err != nil {
		c.log.WarnContext(ctx, "verification result not recorded", "backup", v.ID, "ok", v.OK, "error", err)
		return
	}
	c.log.InfoContext(ctx, "verification recorded", "backup", v.ID, "method", v.Method, "ok", v.OK)
}

// LastVerification returns the last recorded verification of backup id; found is false when the
// backup was never verified.
func (c *Catalogue) LastVerification(ctx context.Context, id string) (v Verification, found bool, err error) {
	if !ValidID(id) {
		return Verification{}, false, fmt.Errorf("backup %q: %w", id, ErrNotFound)
	}
	r, err := c.store.Get(ctx, folder(id)+verificationName)
	if errors.Is(err, s3store.ErrNotFound) {
		return Verification{}, false, nil
	}
	if err != nil {
		return Verification{}, false, fmt.Errorf("read verification of %s: %w", id, err)
	}
	defer r.Close()
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&v); err != nil {
		return Verification{}, false, fmt.Errorf("read verification of %s: %w", id, err)
	}
	if v.ID != id {
		return Verification{}, false, fmt.Errorf("verification record of %s names backup %q", id, v.ID)
	}
	if v.Problems == nil {
		v.Problems = []string{}
	}
	return v, true, nil
}

// verifications reads the records of the scanned backups that have one, by backup ID.
func (c *Catalogue) verifications(ctx context.Context, sc scanned) (map[string]Verification, error) {
	out := map[string]Verification{}
	for _, m := range sc.manifests {
		if !sc.verified[m.ID] {
			continue
		}
		v, found, err := c.LastVerification(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		if found {
			out[m.ID] = v
		}
	}
	return out, nil
}

// objectsVerification is the record of a VerifyResult.
func objectsVerification(res VerifyResult) Verification {
	v := Verification{ID: res.ID, Method: VerifyObjects, OK: res.OK, Problems: []string{}}
	for _, o := range res.Objects {
		if !o.OK {
			v.Problems = append(v.Problems, o.Key+": "+o.Problem)
		}
	}
	return v
}

// restoreVerification is the record of a restore --verify.
func restoreVerification(id, target string, chk RestoreCheck) Verification {
	v := Verification{ID: id, Method: VerifyRestore, OK: chk.OK, Target: target, Problems: []string{}}
	for _, t := range chk.Tables {
		switch {
		case t.OK:
		case t.ActualRows < 0:
			v.Problems = append(v.Problems, t.Table+": missing")
		case t.ActualRows != t.ExpectedRows:
			v.Problems = append(v.Problems, fmt.Sprintf("%s: %d rows, manifest says %d", t.Table, t.ActualRows, t.ExpectedRows))
		default:
			v.Problems = append(v.Problems, t.Table+": checksum differs from the manifest")
		}
	}
	return v
}
