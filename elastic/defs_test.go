package elastic

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadDefaultDefs(t *testing.T) {
	t.Parallel()
	d, err := LoadDefs(DefaultDefs(), "t_x_")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Components) != 2 || len(d.Indices) != 3 {
		t.Fatalf("%d components, %d indices", len(d.Components), len(d.Indices))
	}
	x, err := d.Index("instruments")
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		x.ReadAlias():    "t_x_quantx-instruments",
		x.WriteAlias():   "t_x_quantx-instruments-write",
		x.Physical(3):    "t_x_quantx-instruments-v3",
		x.Pattern():      "t_x_quantx-instruments-v*",
		d.HistoryIndex(): "t_x_quantx-db-history",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	for _, n := range []string{"quantx-instruments", "t_x_quantx-instruments"} {
		if y, err := d.Index(n); err != nil || y != x {
			t.Errorf("Index(%q) = %v, %v", n, y, err)
		}
	}
	if _, err := d.Index("nosuch"); !errors.Is(err, ErrUnknownIndex) {
		t.Errorf("unknown index: %v", err)
	}
	a, _ := d.Index("activity")
	if a.Physical(2) != "t_x_quantx-activity-v2-000001" || !a.TimeBased || a.Retention == nil {
		t.Errorf("activity: %+v", a)
	}
	for name, want := range map[string]int{
		"t_x_quantx-activity-v2-000001": 2, "t_x_quantx-activity-v12-000003": 12,
		"t_x_quantx-activity-v2": 0, "t_x_quantx-activity-vx-000001": 0, "other-v2-000001": 0,
	} {
		if got := a.versionOf(name); got != want {
			t.Errorf("versionOf(%s) = %d, want %d", name, got, want)
		}
	}
	if x.versionOf("t_x_quantx-instruments-v10") != 10 || x.versionOf("t_x_quantx-instruments-v0") != 0 {
		t.Error("versionOf on a plain index")
	}
}

func TestChecksumIgnoresFormattingOnly(t *testing.T) {
	t.Parallel()
	a, _ := checksum([]byte(`{"version": 1, "template": {"a": 1, "b": [1,2]}}`))
	b, _ := checksum([]byte("{\n  \"template\": {\"b\": [1, 2], \"a\": 1},\n  \"version\": 1\n}"))
	c, _ := checksum([]byte(`{"version": 1, "template": {"a": 2, "b": [1,2]}}`))
	d, _ := checksum([]byte(`{"version": 1, "template": {"a": 1, "b": [2,1]}}`))
	if a != b {
		t.Errorf("reformatting changed the checksum: %s %s", a, b)
	}
	if a == c || a == d {
		t.Error("a value change kept the checksum")
	}
	if !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+64 {
		t.Errorf("checksum %q", a)
	}
}

func TestLoadDefsRejects(t *testing.T) {
	t.Parallel()
	comp := `{"version": 1, "template": {"settings": {}}}`
	for name, c := range map[string]struct {
		files  map[string]string
		prefix string
		want   string
	}{
		"bad prefix":     {map[string]string{"indices/a.json": `{"version":1}`}, "Upper_", "lowercase"},
		"unknown key":    {map[string]string{"indices/a.json": `{"version":1,"retension":{}}`}, "", "retension"},
		"no version":     {map[string]string{"indices/a.json": `{"template":{}}`}, "", "version"},
		"bad reference":  {map[string]string{"indices/a.json": `{"version":1,"composed_of":["nope"]}`}, "", "nope"},
		"retention flat": {map[string]string{"indices/a.json": `{"version":1,"retention":{"rollover_max_age":"1d","delete_after":"9d"}}`}, "", "time_based"},
		"bad duration":   {map[string]string{"indices/a.json": `{"version":1,"time_based":true,"retention":{"rollover_max_age":"1w","delete_after":"9d"}}`}, "", "unit"},
		"bad index name": {map[string]string{"components/c.json": comp, "indices/A.json": `{"version":1}`}, "", "lowercase"},
		"not json":       {map[string]string{"indices/a.json": `{`}, "", "a.json"},
		"no indices":     {map[string]string{"components/c.json": comp}, "", "no indices"},
	} {
		fsys := fstest.MapFS{}
		for p, s := range c.files {
			fsys[p] = &fstest.MapFile{Data: []byte(s)}
		}
		_, err := LoadDefs(fsys, c.prefix)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", name, err, c.want)
		}
	}
}

func TestDurationParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[Duration]time.Duration{"90d": 90 * 24 * time.Hour, "12h": 12 * time.Hour, "5m": 5 * time.Minute, "30s": 30 * time.Second} {
		if got, err := in.Parse(); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []Duration{"", "d", "0d", "-1d", "1w", "1.5d"} {
		if _, err := in.Parse(); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
