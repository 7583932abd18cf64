package backup

import (
	"io"

	"github.com/quantx/quantx-db/internal/progress"
)

// progressReader counts the bytes of one transfer (p.Bytes) and reports them
// through Options.Progress.
type progressReader struct {
	r *progress.Reader
	p struct{ Bytes int64 }
}

// progress starts reporting a transfer: stage is the phase ("upload",
// "download", "verify"), id the backup, total the size when known (0 if not).
func (c *Catalogue) progress(r io.Reader, stage, id string, total int64) *progressReader {
	return &progressReader{r: progress.NewReader(r, c.o.Progress, progress.Event{Phase: stage, Subject: id, Total: total})}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.p.Bytes += int64(n)
	return n, err
}

// finish reports the final count once.
func (p *progressReader) finish() { p.r.Finish() }
