package elastic

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed defs
var embeddedDefs embed.FS

// DefaultDefs is the desired state shipped in the binary: defs/components/*.json
// and defs/indices/*.json.
func DefaultDefs() fs.FS {
	sub, err := fs.Sub(embeddedDefs, "defs")
	if err != nil { // cannot happen: the directory is embedded
		panic(err)
	}
	return sub
}

// Defs is the desired state, with every server-side name already prefixed.
type Defs struct {
	Prefix     string
	Components []Component
	Indices    []Index
}

// Component is one component template (components/NAME.json).
type Component struct {
	Name     string         // logical name: the file name without .json
	FullName string         // server name: prefix + "quantx-" + Name
	Version  int            // bumped by hand when the content changes
	Template map[string]any // "settings" and/or "mappings"
	Checksum string         // sha256 of the canonical file content
}

// Index is one logical index (indices/NAME.json): an index template, physical
// indices BASE-vN (time-based: BASE-vN-000001, ...) behind the read alias BASE
// and the write alias BASE-write.
type Index struct {
	Name       string
	Base       string // prefix + "quantx-" + Name: index template name and read alias
	Version    int    // minimum physical version; bump it to force a reindex
	ComposedOf []string
	TimeBased  bool
	Retention  *Retention
	Template   map[string]any // "settings" and/or "mappings" on top of the components
	Checksum   string
}

// Retention is the rollover and delete policy of a time-based index.
type Retention struct {
	RolloverMaxAge  Duration `json:"rollover_max_age"`
	RolloverMaxDocs int64    `json:"rollover_max_docs"`
	DeleteAfter     Duration `json:"delete_after"`
}

// Duration is a whole number of days, hours, minutes or seconds, written the
// way both engines write them ("90d", "12h"), so one value feeds ILM, ISM and
// the tool's own fallback.
type Duration string

// Parse converts d into a time.Duration.
func (d Duration) Parse() (time.Duration, error) {
	s := string(d)
	if len(s) < 2 {
		return 0, fmt.Errorf("duration %q: want a number and a unit d, h, m or s", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("duration %q: want a positive whole number and a unit d, h, m or s", s)
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("duration %q: unit must be d, h, m or s", s)
	}
	return time.Duration(n) * unit, nil
}

// ReadAlias is the alias readers use: all physical indices of the current version.
func (x *Index) ReadAlias() string { return x.Base }

// WriteAlias is the alias writers use: exactly one physical index.
func (x *Index) WriteAlias() string { return x.Base + "-write" }

// Physical is the name of the first physical index of version v.
func (x *Index) Physical(v int) string {
	if x.TimeBased {
		return fmt.Sprintf("%s-v%d-000001", x.Base, v)
	}
	return fmt.Sprintf("%s-v%d", x.Base, v)
}

// Pattern matches every physical index of every version.
func (x *Index) Pattern() string { return x.Base + "-v*" }

// PolicyName is the ILM/ISM policy of a time-based index.
func (x *Index) PolicyName() string { return x.Base + "-retention" }

// versionOf returns the version in a physical index name, or 0 when name is
// not one of x's physical indices.
func (x *Index) versionOf(name string) int {
	rest, ok := strings.CutPrefix(name, x.Base+"-v")
	if !ok {
		return 0
	}
	if x.TimeBased {
		var gen string
		rest, gen, ok = strings.Cut(rest, "-")
		if !ok || len(gen) != 6 {
			return 0
		}
	}
	v, err := strconv.Atoi(rest)
	if err != nil || v < 1 {
		return 0
	}
	return v
}

// HistoryIndex is where Setup records what it applied.
func (d *Defs) HistoryIndex() string { return d.Prefix + "quantx-db-history" }

// Index finds a logical index by its name ("instruments"), base name
// ("quantx-instruments") or prefixed base name.
func (d *Defs) Index(name string) (*Index, error) {
	for i := range d.Indices {
		x := &d.Indices[i]
		if name == x.Name || name == x.Base || name == "quantx-"+x.Name {
			return x, nil
		}
	}
	names := make([]string, len(d.Indices))
	for i, x := range d.Indices {
		names[i] = x.Name
	}
	return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownIndex, name, strings.Join(names, ", "))
}

func (d *Defs) component(name string) *Component {
	for i := range d.Components {
		if d.Components[i].Name == name {
			return &d.Components[i]
		}
	}
	return nil
}

// LoadDefs reads components/*.json and indices/*.json from fsys and prefixes
// every server-side name with prefix. It checks names, versions, references
// and durations; the server checks the rest when Setup sends it.
func LoadDefs(fsys fs.FS, prefix string) (*Defs, error) {
	d := &Defs{Prefix: prefix}
	if prefix != "" {
		if err := ValidateIndexName(prefix + "x"); err != nil {
			return nil, fmt.Errorf("prefix: %w", err)
		}
	}
	if err := eachJSON(fsys, "components", func(name string, raw []byte, sum string) error {
		var f struct {
			Version     int            `json:"version"`
			Description string         `json:"description"`
			Template    map[string]any `json:"template"`
		}
		if err := strictJSON(raw, &f); err != nil {
			return err
		}
		if f.Version < 1 || f.Template == nil {
			return fmt.Errorf("want \"version\" >= 1 and a \"template\"")
		}
		c := Component{Name: name, FullName: prefix + "quantx-" + name, Version: f.Version, Template: f.Template, Checksum: sum}
		if err := ValidateIndexName(c.FullName); err != nil {
			return err
		}
		d.Components = append(d.Components, c)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachJSON(fsys, "indices", func(name string, raw []byte, sum string) error {
		var f struct {
			Version     int            `json:"version"`
			Description string         `json:"description"`
			ComposedOf  []string       `json:"composed_of"`
			TimeBased   bool           `json:"time_based"`
			Retention   *Retention     `json:"retention"`
			Template    map[string]any `json:"template"`
		}
		if err := strictJSON(raw, &f); err != nil {
			return err
		}
		if f.Version < 1 {
			return fmt.Errorf("want \"version\" >= 1")
		}
		if f.Template == nil {
			f.Template = map[string]any{}
		}
		for _, c := range f.ComposedOf {
			if d.component(c) == nil {
				return fmt.Errorf("composed_of %q: no components/%s.json", c, c)
			}
		}
		if f.Retention != nil {
			if !f.TimeBased {
				return fmt.Errorf("retention needs \"time_based\": true")
			}
			for _, du := range []Duration{f.Retention.RolloverMaxAge, f.Retention.DeleteAfter} {
				if _, err := du.Parse(); err != nil {
					return fmt.Errorf("retention: %w", err)
				}
			}
		}
		x := Index{Name: name, Base: prefix + "quantx-" + name, Version: f.Version, ComposedOf: f.ComposedOf,
			TimeBased: f.TimeBased, Retention: f.Retention, Template: f.Template, Checksum: sum}
		if x.ComposedOf == nil {
			x.ComposedOf = []string{}
		}
		for _, n := range []string{x.Base, x.WriteAlias(), x.Physical(x.Version), x.PolicyName()} {
			if err := ValidateIndexName(n); err != nil {
				return err
			}
		}
		d.Indices = append(d.Indices, x)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(d.Indices) == 0 {
		return nil, fmt.Errorf("%w: no indices/*.json", ErrBadDefinition)
	}
	return d, nil
}

// eachJSON calls fn for every dir/*.json in name order, with its checksum.
func eachJSON(fsys fs.FS, dir string, fn func(name string, raw []byte, sum string) error) error {
	files, err := fs.Glob(fsys, dir+"/*.json")
	if err != nil {
		return err
	}
	slices.Sort(files)
	for _, file := range files {
		raw, err := fs.ReadFile(fsys, file)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadDefinition, err)
		}
		sum, err := checksum(raw)
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrBadDefinition, file, err)
		}
		if err := fn(strings.TrimSuffix(path.Base(file), ".json"), raw, sum); err != nil {
			return fmt.Errorf("%w %s: %w", ErrBadDefinition, file, err)
		}
	}
	return nil
}

// checksum hashes the canonical form of a JSON document (keys sorted, no
// whitespace), so reformatting a file is not an edit but any value change is.
func checksum(raw []byte) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(canon)
	return "sha256:" + hex.EncodeToString(h[:]), nil
}

// strictJSON decodes raw into v and rejects unknown keys: a misspelt
// "retention" must not silently mean "keep forever".
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
