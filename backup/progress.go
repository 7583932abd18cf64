package backup

import (
	"io"
	"time"
)

// progressReader counts bytes and reports them through Options.Progress, throttled.
type progressReader struct {
	r     io.Reader
	fn    func(Progress)
	every time.Duration
	p     Progress
	start time.Time
	last  time.Time
}

func (c *Catalogue) progress(r io.Reader, stage, id string, total int64) *progressReader {
	now := time.Now()
	return &progressReader{r: r, fn: c.o.Progress, every: c.o.ProgressEvery,
		p: Progress{Stage: stage, ID: id, Total: total}, start: now, last: now}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.p.Bytes += int64(n)
	if p.fn != nil {
		if now := time.Now(); now.Sub(p.last) >= p.every {
			p.last = now
			p.p.Elapsed = now.Sub(p.start)
			p.fn(p.p)
		}
	}
	return n, err
}

// finish reports the final count once.
func (p *progressReader) finish() {
	if p.fn != nil && !p.p.Done {
		p.p.Done = true
		p.p.Elapsed = time.Since(p.start)
		p.fn(p.p)
	}
}
