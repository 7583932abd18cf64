// Package progress carries progress reports of long operations from the store
// packages to whoever shows them. A library takes a Func in its options and
// calls it; it never knows whether the report becomes a bar on a terminal, a
// log record for cron, or nothing. The quantx-db CLI owns the one
// implementation that draws or logs them (cmd/quantx-db/progress.go).
package progress

import (
	"io"
	"sync"
	"time"
)

// Unit is what Event.Done and Event.Total count.
type Unit string

// Units of progress.
const (
	Bytes      Unit = "bytes"
	Rows       Unit = "rows"
	Tables     Unit = "tables"
	Items      Unit = "items" // pg_restore's table of contents entries
	Documents  Unit = "documents"
	Partitions Unit = "partitions"
	Blocks     Unit = "blocks" // pg_stat_progress_create_index blocks
	Tuples     Unit = "tuples" // pg_stat_progress_create_index tuples
)

// Event is one report about one phase of a long operation. A phase is known
// by Phase and Subject together; its last event has End set.
type Event struct {
	Phase   string // what is being done: "download", "restore", "verify", "archive", "copy", "build index", ...
	Subject string // what it is done to: a backup ID, a table, a partition, an index
	Unit    Unit
	Done    int64
	Total   int64  // 0 when unknown
	Item    string // what is being worked on right now, when the phase has parts (pg_restore's current table)
	End     bool   // the phase is over (finished or failed): Done is final
}

// Func receives events. It may be called from several goroutines; a nil Func
// discards everything, so libraries call Report without checking.
type Func func(Event)

// Report sends e to f, if f is set.
func (f Func) Report(e Event) {
	if f != nil {
		f(e)
	}
}

// Every is how often a Reader or a Counter reports while its count moves:
// often enough for a bar to look alive, rarely enough to cost nothing.
const Every = 100 * time.Millisecond

// Counter reports a count that grows, at most every Every and once at the end.
// It is safe for concurrent use.
type Counter struct {
	mu   sync.Mutex
	f    Func
	ev   Event
	last time.Time
}

// NewCounter starts a phase and reports it at 0.
func NewCounter(f Func, ev Event) *Counter {
	c := &Counter{f: f, ev: ev}
	if f != nil {
		c.last = time.Now()
		f(ev)
	}
	return c
}

// Add adds n to the count.
func (c *Counter) Add(n int64) { c.update(func(e *Event) { e.Done += n }) }

// Set sets the count (and the total, when total > 0).
func (c *Counter) Set(done, total int64) {
	c.update(func(e *Event) {
		e.Done = done
		if total > 0 {
			e.Total = total
		}
	})
}

// SetItem names what is being worked on now; it is reported with the next count.
func (c *Counter) SetItem(item string) {
	c.mu.Lock()
	c.ev.Item = item
	c.mu.Unlock()
}

// Done is the count so far.
func (c *Counter) Done() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ev.Done
}

func (c *Counter) update(fn func(*Event)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.ev)
	if c.f == nil || c.ev.End {
		return
	}
	if now := time.Now(); now.Sub(c.last) >= Every {
		c.last = now
		c.f(c.ev)
	}
}

// Finish reports the final count once; later calls do nothing.
func (c *Counter) Finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ev.End {
		return
	}
	c.ev.End = true
	c.f.Report(c.ev)
}

// Reader counts the bytes read through it into a Counter.
type Reader struct {
	r io.Reader
	*Counter
}

// NewReader wraps r; ev.Unit is set to Bytes.
func NewReader(r io.Reader, f Func, ev Event) *Reader {
	ev.Unit = Bytes
	return &Reader{r: r, Counter: NewCounter(f, ev)}
}

func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.Add(int64(n))
	}
	return n, err
}
