package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// walName matches a WAL segment file name: timeline, log and segment, 8 hex digits each.
var walName = regexp.MustCompile(`^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$`)

// prevSegment returns the segment before name for segments of segSize bytes ("" at the very start).
func prevSegment(name string, segSize int64) string {
	m := walName.FindStringSubmatch(name)
	if m == nil || segSize <= 0 {
		return ""
	}
	log, _ := strconv.ParseUint(m[2], 16, 32)
	seg, _ := strconv.ParseUint(m[3], 16, 32)
	perLog := uint64(0x100000000 / segSize)
	switch {
	case seg > 0:
		seg--
	case log > 0:
		log, seg = log-1, perLog-1
	default:
		return ""
	}
	return fmt.Sprintf("%s%08X%08X", m[1], log, seg)
}

// nextSegment returns the segment after name for segments of segSize bytes.
func nextSegment(name string, segSize int64) string {
	m := walName.FindStringSubmatch(name)
	if m == nil || segSize <= 0 {
		return ""
	}
	log, _ := strconv.ParseUint(m[2], 16, 32)
	seg, _ := strconv.ParseUint(m[3], 16, 32)
	if seg+1 >= uint64(0x100000000/segSize) {
		log, seg = log+1, 0
	} else {
		seg++
	}
	return fmt.Sprintf("%s%08X%08X", m[1], log, seg)
}

// NextWALSegment is nextSegment for callers outside the package (tests walk the archive with it).
func NextWALSegment(name string, segSize int64) string { return nextSegment(name, segSize) }

// commitRecord matches pg_waldump's commit and abort records (run with TZ=UTC), e.g.
// "desc: COMMIT 2026-11-30 09:00:32.692495 UTC" or "desc: ABORT_PREPARED 5: 2026-...".
var commitRecord = regexp.MustCompile(`lsn: ([0-9A-F]+/[0-9A-F]+), prev \S+ desc: (?:COMMIT|ABORT)\S* (?:\d+: )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC`)

// maxScanSegments bounds how far back lastArchivedCommit looks for a commit.
const maxScanSegments = 16

// archivedCommit is a commit (or abort) record in the archive: its time and where it starts.
type archivedCommit struct {
	Time time.Time
	LSN  uint64
}

// lastArchivedCommit returns the newest commit (or abort) record in the archived WAL, found by
// fetching the newest segments (`pgbackrest archive-get`) and reading them with pg_waldump. A
// --target-time restore can only stop at a time before it, and a --latest restore must replay past
// it. found is false when none of the newest maxScanSegments segments holds one.
func (p *Physical) lastArchivedCommit(ctx context.Context, newest, binDir string) (c archivedCommit, found bool, err error) {
	if newest == "" {
		return c, false, nil
	}
	waldump := filepath.Join(binDir, "pg_waldump")
	dir, err := os.MkdirTemp("", "quantx-db-wal-")
	if err != nil {
		return c, false, err
	}
	defer os.RemoveAll(dir)
	seg := newest
	for i := 0; i < maxScanSegments && seg != ""; i++ {
		dest := filepath.Join(dir, seg)
		if _, err := p.run(ctx, "--log-level-file=off", "archive-get", seg, dest); err != nil {
			if i > 0 {
				return c, false, nil // older segments expired: nothing more to read
			}
			return c, false, fmt.Errorf("read archived WAL %s: %w", seg, err)
		}
		st, err := os.Stat(dest)
		if err != nil {
			return c, false, err
		}
		cmd := exec.CommandContext(ctx, waldump, "--rmgr=Transaction", "--path="+dir, seg)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, werr := cmd.Output() // pg_waldump exits 1 at the end of the last segment it has: expected
		if werr != nil && len(out) == 0 {
			var ee *exec.ExitError
			if !errors.As(werr, &ee) {
				return c, false, fmt.Errorf("pg_waldump: %w", werr)
			}
		}
		for _, m := range commitRecord.FindAllStringSubmatch(string(out), -1) {
			lsn, lerr := ParseLSN(m[1])
			ts, terr := time.Parse("2006-01-02 15:04:05.999999", m[2])
			if lerr == nil && terr == nil && lsn >= c.LSN { // records come in LSN order
				c, found = archivedCommit{Time: ts.UTC(), LSN: lsn}, true
			}
		}
		if found {
			return c, true, nil
		}
		os.Remove(dest)
		seg = prevSegment(seg, st.Size())
	}
	return c, false, nil
}

// ParseLSN reads a PostgreSQL LSN such as "0/40160A8".
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, fmt.Errorf("LSN %q: no '/'", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("LSN %q: %w", s, err)
	}
	return h<<32 | l, nil
}

// FormatLSN writes an LSN the way PostgreSQL does.
func FormatLSN(v uint64) string { return fmt.Sprintf("%X/%X", v>>32, v&0xFFFFFFFF) }
