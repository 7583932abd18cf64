package progress

import (
	"io"
	"strings"
	"testing"
)

func TestReaderReportsStartBytesAndOneEnd(t *testing.T) {
	var got []Event
	r := NewReader(strings.NewReader(strings.Repeat("x", 10000)), func(e Event) { got = append(got, e) }, Event{Phase: "download", Subject: "b1", Total: 10000})
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	r.Finish()
	r.Finish()
	if len(got) < 2 || got[0].Done != 0 || got[0].End || got[0].Unit != Bytes {
		t.Fatalf("first event: %+v", got)
	}
	last := got[len(got)-1]
	if !last.End || last.Done != 10000 || last.Total != 10000 || last.Phase != "download" || last.Subject != "b1" {
		t.Fatalf("last event: %+v", last)
	}
	ends := 0
	for _, e := range got {
		if e.End {
			ends++
		}
	}
	if ends != 1 {
		t.Fatalf("%d End events, want 1: %+v", ends, got)
	}
}

func TestNilFuncReportsNothing(t *testing.T) {
	c := NewCounter(nil, Event{Phase: "x"})
	c.Add(3)
	c.SetItem("t")
	c.Finish()
	if c.Done() != 3 {
		t.Fatalf("Done %d", c.Done())
	}
	var f Func
	f.Report(Event{}) // must not panic
}
