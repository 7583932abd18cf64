package backup

import (
	"bytes"
	"regexp"
	"strings"
	"sync"

	"github.com/quantx/quantx-db/internal/progress"
)

// restoreLog reads pg_restore --verbose's stderr line by line: the progress
// lines move the progress display, everything else (errors, warnings and
// their context) goes to tail for the error message, as without --verbose.
type restoreLog struct {
	mu    sync.Mutex
	tail  *tailBuffer
	item  func(string)      // names the entry being restored
	items map[string]string // --jobs: the table of contents (dump ID → description), the total
	done  map[string]bool
	count *progress.Counter // --jobs: entries done out of items
	buf   []byte
}

// verboseRE matches the lines pg_restore --verbose adds (PostgreSQL 10-17:
// pg_backup_archiver.c, parallel.c). Error context ("while PROCESSING TOC",
// "from TOC entry", "error:", "warning:", "Command was:") never matches.
var verboseRE = regexp.MustCompile(`^pg_restore: (?:connecting|creating|processing|launching|finished|entering|executing|dropping|setting|disabling|enabling|restoring|restored|skipping|started|implied|reducing|transferring)\b`)

// itemRE matches the lines that name a table-of-contents entry by dump ID:
// the serial part of a parallel restore says "processing item N ...", the
// parallel part "finished item N ...".
var itemRE = regexp.MustCompile(`^pg_restore: (?:processing(?: missed)? item|finished item) (\d+) (.*)$`)

// objectRE matches the serial restore's "creating TABLE "public.a"" and
// "processing data for table "public.a"".
var objectRE = regexp.MustCompile(`^pg_restore: (?:creating (\S+) |processing data for table )"(.*)"$`)

func (l *restoreLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.buf[:i+1]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// flush handles a last line without a newline.
func (l *restoreLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
}

func (l *restoreLog) line(s string) {
	text := strings.TrimRight(s, "\r\n")
	if !verboseRE.MatchString(text) {
		l.tail.Write([]byte(s))
		return
	}
	if m := itemRE.FindStringSubmatch(text); m != nil && l.items != nil {
		if desc, ok := l.items[m[1]]; ok && !l.done[m[1]] {
			l.done[m[1]] = true
			l.item(desc)
			l.count.Set(int64(len(l.done)), 0)
		}
		return
	}
	if m := objectRE.FindStringSubmatch(text); m != nil && l.item != nil {
		if m[1] == "" {
			l.item("data " + m[2])
		} else {
			l.item(m[1] + " " + m[2])
		}
	}
}

// tocItems reads pg_restore --list: one entry per line, "ID; oid oid TYPE
// schema name owner", comments starting with ';'.
func tocItems(list string) map[string]string {
	items := map[string]string{}
	for _, line := range strings.Split(list, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		id, rest, ok := strings.Cut(line, ";")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		desc := strings.Join(f, " ")
		if len(f) > 3 { // drop the two OIDs and the owner
			desc = strings.Join(f[2:len(f)-1], " ")
		}
		items[strings.TrimSpace(id)] = desc
	}
	return items
}
