package influx

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// defaultDesired is the platform's desired state; quantx-db provisions it
// unless the caller passes another one.
//
//go:embed desired.yaml
var defaultDesired []byte

// MinRetention is the shortest retention InfluxDB accepts (1.x and 2.x
// alike). It is checked locally so that a typo fails before anything is sent.
const MinRetention = time.Hour

// DefaultLateTolerance is the ingestion delay the rollups absorb when the
// desired state does not say: a point written up to 2 hours after its own
// timestamp is rolled up by the schedule. Later points need a re-roll
// (Backfill; the CLI's "influx backfill --since").
const DefaultLateTolerance = Duration(2 * time.Hour)

// Desired is the declarative state the provisioner converges a server to.
type Desired struct {
	Database string `yaml:"database" json:"database"`
	Org      string `yaml:"org" json:"org"`
	// LateTolerance is how long after its own timestamp a raw point may be
	// written and still be rolled up by the scheduled rollups of every tier.
	// Each tier's rollup recomputes as many past intervals as that takes (see
	// Tier.window). Omitted in a file, it is DefaultLateTolerance; 0 means
	// points must arrive before their interval closes.
	LateTolerance Duration      `yaml:"late_tolerance" json:"late_tolerance"`
	Tiers         []Tier        `yaml:"tiers" json:"tiers"`
	Measurements  []Measurement `yaml:"measurements" json:"measurements"`
}

// Tier is one retention policy (1.x) or bucket (2.x). The first tier is raw:
// writes land there. A later tier is filled from the tier before it.
type Tier struct {
	Name          string   `yaml:"name" json:"name"`
	Duration      Duration `yaml:"duration" json:"duration"`
	ShardDuration Duration `yaml:"shard_duration,omitempty" json:"shard_duration"`
	RollupEvery   Duration `yaml:"rollup_every,omitempty" json:"rollup_every,omitempty"`
	// ResampleFor widens the window each scheduled rollup recomputes beyond
	// what LateTolerance needs; it never narrows it. Usually left out.
	ResampleFor Duration `yaml:"resample_for,omitempty" json:"resample_for,omitempty"`
}

// Measurement is the line-protocol contract of one measurement.
type Measurement struct {
	Name   string   `yaml:"name" json:"name"`
	Tags   []string `yaml:"tags" json:"tags"`
	Fields []Field  `yaml:"fields" json:"fields"`
}

// Field is one field key, its type and how it is rolled up ("" = not rolled up).
// A rolled-up field also writes carriers into every rolled tier: <name>_count
// (the raw points behind the value) and, for a mean, <name>_sum, so that the
// next tier composes exactly and stale rollups can be found.
type Field struct {
	Name   string    `yaml:"name" json:"name"`
	Type   FieldType `yaml:"type" json:"type"`
	Rollup string    `yaml:"rollup,omitempty" json:"rollup,omitempty"`
}

// FieldType is a line-protocol field type as SHOW FIELD KEYS names it.
type FieldType string

// The field types of line protocol.
const (
	TypeFloat   FieldType = "float"
	TypeInteger FieldType = "integer"
	TypeString  FieldType = "string"
	TypeBoolean FieldType = "boolean"
)

// isRollupFunc reports whether fn may roll a field up: each exists under the
// same name in InfluxQL and Flux, so one file serves both dialects.
func isRollupFunc(fn string) bool {
	switch fn {
	case "first", "last", "min", "max", "mean", "sum", "median":
		return true
	}
	return false
}

// ErrInvalidDesired marks a desired state that cannot be provisioned.
var ErrInvalidDesired = errors.New("invalid desired state")

// Duration is a retention or interval written as an InfluxQL duration
// literal: 30m, 1h, 7d, 2w. Zero means "not set" (or infinite for a retention).
type Duration time.Duration

var durationLiteral = regexp.MustCompile(`^([0-9]+)(m|h|d|w)$`)

// ParseDuration parses the literals of the desired-state file.
func ParseDuration(s string) (Duration, error) {
	if s == "inf" || s == "INF" || s == "0" {
		return 0, nil
	}
	m := durationLiteral.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("duration %q: use a number and one of m, h, d, w (for example 7d)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > 1_000_000 {
		return 0, fmt.Errorf("duration %q is out of range", s)
	}
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return Duration(time.Duration(n) * unit), nil
}

// String formats d with the largest unit that divides it, as InfluxQL prints
// durations (so 168h is "1w"): CQ bodies read back from the server compare equal.
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{7 * 24 * time.Hour, "w"}, {24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if v%u.unit == 0 {
			return strconv.FormatInt(int64(v/u.unit), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(v/time.Millisecond), 10) + "ms"
}

// ddl formats d in days or hours for DDL, which people read in plans.
func (d Duration) ddl() string {
	v := time.Duration(d)
	switch {
	case v == 0:
		return "INF"
	case v%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	case v%time.Hour == 0:
		return strconv.FormatInt(int64(v/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(v/time.Minute), 10) + "m"
}

// UnmarshalYAML reads a duration literal.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the literal back.
func (d Duration) MarshalYAML() (any, error) { return d.ddl(), nil }

// MarshalText keeps JSON readable: "7d", not 604800000000000.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.ddl()), nil }

// DefaultDatabase is the database of the built-in desired state (its
// "database" key), for callers that need only the name: parsing desired.yaml
// costs every process that would do it at start-up (TestDefaultDesired keeps
// the two equal).
const DefaultDatabase = "quantx_db"

// DefaultDesired returns the desired state built into the binary.
func DefaultDesired() Desired {
	d, err := ParseDesired(defaultDesired)
	if err != nil {
		panic("influx: built-in desired.yaml: " + err.Error()) // a build defect, caught by TestDefaultDesired
	}
	return d
}

// ParseDesired reads a desired-state document. Unknown keys and invalid
// values are errors that name the key or the object.
func ParseDesired(b []byte) (Desired, error) {
	var d Desired
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a typo such as "duraton" must not silently mean "infinite"
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return Desired{}, fmt.Errorf("%w: the document is empty", ErrInvalidDesired)
		}
		return Desired{}, fmt.Errorf("%w: %v", ErrInvalidDesired, yamlMessage(err))
	}
	// A file without late_tolerance gets the default, not 0 (no tolerance at all).
	var set struct {
		LateTolerance *Duration `yaml:"late_tolerance"`
	}
	if yaml.Unmarshal(b, &set) == nil && set.LateTolerance == nil {
		d.LateTolerance = DefaultLateTolerance
	}
	if err := d.Validate(); err != nil {
		return Desired{}, err
	}
	return d, nil
}

// yamlMessage keeps a yaml.TypeError to its first line: one clear line for the CLI.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return te.Errors[0]
	}
	return err.Error()
}

var identifier = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// Validate checks d without contacting a server.
func (d Desired) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidDesired, fmt.Sprintf(format, args...))
	}
	if !identifier.MatchString(d.Database) || len(d.Database) > 200 {
		return bad("database %q: use letters, digits, _ . -", d.Database)
	}
	if len(d.Tiers) == 0 {
		return bad("no tiers: the first tier is where writes land")
	}
	seen := map[string]bool{}
	for i, t := range d.Tiers {
		switch {
		case !identifier.MatchString(t.Name):
			return bad("tier %d: name %q: use letters, digits, _ . -", i+1, t.Name)
		case seen[t.Name]:
			return bad("tier %s appears twice", t.Name)
		case t.Duration != 0 && time.Duration(t.Duration) < MinRetention:
			return bad("tier %s: duration %s is below the server minimum of 1h", t.Name, t.Duration.ddl())
		case t.ShardDuration != 0 && time.Duration(t.ShardDuration) < time.Hour:
			return bad("tier %s: shard_duration %s is below 1h", t.Name, t.ShardDuration.ddl())
		case t.ShardDuration != 0 && t.Duration != 0 && t.ShardDuration > t.Duration:
			return bad("tier %s: shard_duration %s is longer than the duration %s", t.Name, t.ShardDuration.ddl(), t.Duration.ddl())
		case i == 0 && (t.RollupEvery != 0 || t.ResampleFor != 0):
			return bad("tier %s is the raw tier: it takes writes, so it has no rollup_every or resample_for", t.Name)
		case i > 0 && time.Duration(t.RollupEvery) < time.Minute:
			return bad("tier %s: rollup_every is required (at least 1m) for every tier after the first", t.Name)
		case t.ResampleFor != 0 && t.ResampleFor < t.RollupEvery:
			return bad("tier %s: resample_for %s is shorter than rollup_every %s", t.Name, t.ResampleFor, t.RollupEvery)
		case i > 1 && t.RollupEvery%d.Tiers[i-1].RollupEvery != 0:
			return bad("tier %s: rollup_every %s is not a multiple of %s, the tier below's: its intervals would cut theirs", t.Name, t.RollupEvery, d.Tiers[i-1].RollupEvery)
		}
		seen[t.Name] = true
	}
	if raw := d.Tiers[0].Duration; raw != 0 && d.LateTolerance >= raw {
		return bad("late_tolerance %s is not shorter than the raw tier's retention %s: late points would be gone before their re-roll", d.LateTolerance.ddl(), raw.ddl())
	}
	mseen := map[string]bool{}
	for _, m := range d.Measurements {
		if !identifier.MatchString(m.Name) || mseen[m.Name] {
			return bad("measurement %q: empty, invalid or listed twice", m.Name)
		}
		mseen[m.Name] = true
		keys := map[string]bool{}
		for _, tag := range m.Tags {
			if !identifier.MatchString(tag) || keys[tag] {
				return bad("measurement %s: tag %q: empty, invalid or listed twice", m.Name, tag)
			}
			keys[tag] = true
		}
		if len(m.Fields) == 0 {
			return bad("measurement %s: no fields (a point needs at least one)", m.Name)
		}
		for _, f := range m.Fields {
			switch {
			case !identifier.MatchString(f.Name) || keys[f.Name]:
				return bad("measurement %s: field %q: empty, invalid, listed twice or also a tag", m.Name, f.Name)
			case f.Type != TypeFloat && f.Type != TypeInteger && f.Type != TypeString && f.Type != TypeBoolean:
				return bad("measurement %s: field %s: type %q: use float, integer, string or boolean", m.Name, f.Name, f.Type)
			case f.Rollup != "" && !isRollupFunc(f.Rollup):
				return bad("measurement %s: field %s: rollup %q: use first, last, min, max, mean or sum", m.Name, f.Name, f.Rollup)
			case (f.Rollup == "mean" || f.Rollup == "sum" || f.Rollup == "min" || f.Rollup == "max" || f.Rollup == "median") &&
				(f.Type == TypeString || f.Type == TypeBoolean):
				return bad("measurement %s: field %s: %s of a %s field", m.Name, f.Name, f.Rollup, f.Type)
			}
			keys[f.Name] = true
		}
		// The carriers of the rolled-up fields live beside them in the rolled tiers.
		for _, f := range m.rolledUp() {
			for _, c := range f.carriers() {
				if keys[c] {
					return bad("measurement %s: %s is the %s carrier of field %s in the rolled tiers: rename one of them", m.Name, c, strings.TrimPrefix(c, f.Name+"_"), f.Name)
				}
			}
		}
	}
	return nil
}

// raw is the tier writes land in.
func (d Desired) raw() Tier { return d.Tiers[0] }

// rolledUp lists the fields of m that have a rollup, in file order.
func (m Measurement) rolledUp() []Field {
	var out []Field
	for _, f := range m.Fields {
		if f.Rollup != "" {
			out = append(out, f)
		}
	}
	return out
}

// shardDuration is the tier's shard group duration, or InfluxDB's own
// default for its retention when the file leaves it out (1.x rules: <2d →
// 1h, ≤6 months → 1d, longer or infinite → 7d).
func (t Tier) shardDuration() time.Duration {
	if t.ShardDuration != 0 {
		return time.Duration(t.ShardDuration)
	}
	switch d := time.Duration(t.Duration); {
	case d == 0 || d > 180*24*time.Hour:
		return 7 * 24 * time.Hour
	case d < 2*24*time.Hour:
		return time.Hour
	}
	return 24 * time.Hour
}
