package retention

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/quantx/quantx-db/internal/yamlkey"
)

//go:embed default_policy.yaml
var defaultPolicyYAML []byte

// ErrPolicy marks a policy that cannot be used; the message is one line that
// names the file, the line and the key.
var ErrPolicy = errors.New("invalid retention policy")

// Defaults of an orders policy that leaves them out.
const (
	DefaultBatchSize = 5000
	DefaultPause     = 100 * time.Millisecond
)

// orderStatuses are the values of order_status_enum (migration 0001). The
// policy is checked against them before anything runs.
var orderStatuses = []string{"PENDING", "SUBMITTED", "PARTIAL_FILL", "FILLED", "CANCELED", "REJECTED", "EXPIRED"}

// Policy is the effective retention policy.
type Policy struct {
	Source   string              `yaml:"-" json:"source"` // "built-in" or the file it was read from
	Postgres PostgresPolicy      `yaml:"postgres" json:"postgres"`
	Influx   map[string]Duration `yaml:"influx" json:"influx"` // informational: applied by `influx setup`
	Search   map[string]Duration `yaml:"search" json:"search"` // informational: applied by `elastic setup`
}

// PostgresPolicy lists the tables retention applies to. A nil entry is left alone.
type PostgresPolicy struct {
	ActivityLogs *PartitionPolicy `yaml:"activity_logs" json:"activity_logs,omitempty"`
	Orders       *OrdersPolicy    `yaml:"orders" json:"orders,omitempty"`
}

// PartitionPolicy drops whole monthly partitions older than Keep.
type PartitionPolicy struct {
	Keep    Duration `yaml:"keep" json:"keep"`
	Archive *bool    `yaml:"archive" json:"archive"` // nil means true: archive to S3 before dropping
}

// Archives reports whether partitions are archived before they are dropped.
func (p PartitionPolicy) Archives() bool { return p.Archive == nil || *p.Archive }

// OrdersPolicy sets archived = true on terminal orders older than Keep.
type OrdersPolicy struct {
	Keep      Duration `yaml:"keep" json:"keep"`
	Statuses  []string `yaml:"statuses" json:"statuses"`
	BatchSize int      `yaml:"batch_size" json:"batch_size"`
	Pause     Pause    `yaml:"pause" json:"pause"`
}

// DefaultPolicy returns the built-in policy.
func DefaultPolicy() Policy {
	p, err := ParsePolicy(defaultPolicyYAML, "built-in")
	if err != nil {
		panic(err) // the embedded file is tested; it cannot be invalid at run time
	}
	return p
}

// DefaultPolicyYAML returns the built-in policy file, a template for --policy.
func DefaultPolicyYAML() []byte { return bytes.Clone(defaultPolicyYAML) }

var (
	yamlFieldRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`line (\d+): field (\S+) not found in type \S*\.(\w+)`)
	})
	yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: (?:unmarshal errors:\s*)?`) })
)

// ParsePolicy reads a policy document. source names it in errors. Unknown
// keys, unknown tables, unknown order statuses and durations that are not
// positive are refused with one line wrapping ErrPolicy.
func ParsePolicy(b []byte, source string) (Policy, error) {
	var p Policy
	var doc yaml.Node // for the lines and keys of errors
	_ = yaml.Unmarshal(b, &doc)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return Policy{}, fmt.Errorf("%s: %s: %w", source, yamlMessage(&doc, err), ErrPolicy)
	}
	p.Source = source
	if err := p.validate(); err != nil {
		if ke, ok := errors.AsType[*keyError](err); ok {
			if line := yamlkey.Line(&doc, ke.key); line > 0 {
				return Policy{}, fmt.Errorf("%s: line %d: %v: %w", source, line, err, ErrPolicy)
			}
		}
		return Policy{}, fmt.Errorf("%s: %v: %w", source, err, ErrPolicy)
	}
	return p, nil
}

// keyError is a validation problem of one key of the policy, for ParsePolicy
// to add the key's line.
type keyError struct {
	key string // dotted path: postgres.orders.batch_size
	msg string // what is wrong with it
}

func (e *keyError) Error() string { return e.key + e.msg }

func keyErrorf(key, format string, args ...any) error {
	return &keyError{key: key, msg: fmt.Sprintf(format, args...)}
}

// yamlMessage turns yaml.v3's (possibly multi-line) error into one line a DBA
// can act on: the first problem, its line, and the key in our own words.
func yamlMessage(doc *yaml.Node, err error) string {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	m := yamlFieldRE().FindStringSubmatch(msg)
	if m == nil { // a type error, or one of our UnmarshalYAML methods: name the key
		msg = yamlkey.Explain(doc, yamlLineRE().ReplaceAllString(msg, ""))
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return strings.TrimSpace(msg)
	}
	switch m[3] {
	case "PostgresPolicy":
		return fmt.Sprintf("line %s: unknown table %q under postgres (known: activity_logs, orders)", m[1], m[2])
	case "Policy":
		return fmt.Sprintf("line %s: unknown key %q (known: postgres, influx, search)", m[1], m[2])
	default:
		return fmt.Sprintf("line %s: unknown key %q in %s", m[1], m[2], sectionOf(m[3]))
	}
}

func sectionOf(typeName string) string {
	switch typeName {
	case "PartitionPolicy":
		return "postgres.activity_logs (known: keep, archive)"
	case "OrdersPolicy":
		return "postgres.orders (known: keep, statuses, batch_size, pause)"
	}
	return typeName
}

func (p *Policy) validate() error {
	if p.Influx == nil {
		p.Influx = map[string]Duration{}
	}
	if p.Search == nil {
		p.Search = map[string]Duration{}
	}
	if a := p.Postgres.ActivityLogs; a != nil && a.Keep.IsZero() {
		return keyErrorf("postgres.activity_logs.keep", " is required (for example \"24 months\")")
	}
	if o := p.Postgres.Orders; o != nil {
		if o.Keep.IsZero() {
			return keyErrorf("postgres.orders.keep", " is required (for example \"12 months\")")
		}
		if o.Statuses == nil {
			o.Statuses = []string{"FILLED", "CANCELED", "EXPIRED"}
		}
		if len(o.Statuses) == 0 {
			return keyErrorf("postgres.orders.statuses", " is empty: list the terminal statuses to archive")
		}
		for i, s := range o.Statuses {
			o.Statuses[i] = strings.ToUpper(strings.TrimSpace(s))
			if !slices.Contains(orderStatuses, o.Statuses[i]) {
				return keyErrorf("postgres.orders.statuses", ": unknown order status %q (known: %s)", s, strings.Join(orderStatuses, ", "))
			}
		}
		if o.BatchSize < 0 {
			return keyErrorf("postgres.orders.batch_size", ": %d must be positive", o.BatchSize)
		}
		if o.BatchSize == 0 {
			o.BatchSize = DefaultBatchSize
		}
		if o.Pause.set && o.Pause.D < 0 {
			return keyErrorf("postgres.orders.pause", ": %s must not be negative", o.Pause)
		}
		if !o.Pause.set {
			o.Pause = Pause{D: DefaultPause, set: true}
		}
	}
	return nil
}

// Duration is a retention age: a positive count of hours, days, weeks,
// months or years ("24 months", "12mo", "2y", "90d", "36h"). Months and years
// are calendar months, so "24 months" before 2026-11-15 is 2024-11-15.
type Duration struct {
	N    int
	Unit string // "h", "d", "w", "mo", "y"; "inf" for an informational infinite retention
}

var durationRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*(-?\d+)\s*([a-zA-Z]+)\s*$`) })

var durationUnits = map[string]string{
	"h": "h", "hour": "h", "hours": "h",
	"d": "d", "day": "d", "days": "d",
	"w": "w", "week": "w", "weeks": "w",
	"mo": "mo", "month": "mo", "months": "mo",
	"y": "y", "year": "y", "years": "y",
}

// ParseDuration reads a Duration.
func ParseDuration(s string) (Duration, error) {
	if strings.EqualFold(strings.TrimSpace(s), "inf") {
		return Duration{Unit: "inf"}, nil
	}
	m := durationRE().FindStringSubmatch(s)
	if m == nil {
		return Duration{}, fmt.Errorf("duration %q: write a number and a unit, for example \"24 months\", \"90d\" or \"2y\"", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return Duration{}, fmt.Errorf("duration %q: %w", s, err)
	}
	unit, ok := durationUnits[strings.ToLower(m[2])]
	if !ok {
		return Duration{}, fmt.Errorf("duration %q: unknown unit %q (use h, d, w, months or y)", s, m[2])
	}
	if n <= 0 {
		return Duration{}, fmt.Errorf("duration %q: must be positive", s)
	}
	return Duration{N: n, Unit: unit}, nil
}

// IsZero reports an unset Duration.
func (d Duration) IsZero() bool { return d.Unit == "" }

// Before returns the cutoff: t minus d. Rows older than the cutoff are expired.
func (d Duration) Before(t time.Time) time.Time {
	t = t.UTC()
	switch d.Unit {
	case "h":
		return t.Add(-time.Duration(d.N) * time.Hour)
	case "d":
		return t.AddDate(0, 0, -d.N)
	case "w":
		return t.AddDate(0, 0, -7*d.N)
	case "mo":
		return t.AddDate(0, -d.N, 0)
	case "y":
		return t.AddDate(-d.N, 0, 0)
	}
	return time.Time{} // inf: nothing expires
}

func (d Duration) String() string {
	switch d.Unit {
	case "":
		return ""
	case "inf":
		return "INF"
	case "mo":
		if d.N == 1 {
			return "1 month"
		}
		return fmt.Sprintf("%d months", d.N)
	}
	return fmt.Sprintf("%d%s", d.N, d.Unit)
}

// UnmarshalYAML reads "24 months" and friends.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalJSON writes the duration as its text form.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Pause is the sleep between two batches, a Go duration ("100ms"); 0 is allowed.
type Pause struct {
	D   time.Duration
	set bool
}

func (p Pause) String() string { return p.D.String() }

// UnmarshalYAML reads a Go duration.
func (p *Pause) UnmarshalYAML(n *yaml.Node) error {
	d, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("line %d: pause %q: write a duration such as 100ms or 1s", n.Line, n.Value)
	}
	if d < 0 {
		return fmt.Errorf("line %d: pause %q: must not be negative", n.Line, n.Value)
	}
	*p = Pause{D: d, set: true}
	return nil
}

// MarshalJSON writes the pause as its text form.
func (p Pause) MarshalJSON() ([]byte, error) { return json.Marshal(p.D.String()) }
