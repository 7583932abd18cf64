// Package influx provisions InfluxDB for the QuantX time series: the
// database (1.x) or buckets (2.x), the three retention tiers, and the rollups
// that fill the hourly and daily tiers from the raw one (continuous queries on
// 1.x, Flux tasks on 2.x). It also holds the line-protocol contract of each
// measurement. It is a library; the quantx-db CLI (influx setup, influx status,
// influx backfill, influx schema, provision, status) is one of its callers.
//
// Everything goes through a plan: the live state is read, compared with a
// Desired state, and the differences become Actions. Setup applies them,
// Status reports them. No action ever drops data: an unknown retention
// policy, bucket or rollup is reported as an Extra and left alone.
//
// The two major versions differ in how objects are read and changed, and in
// how a rollup runs; those live behind the unexported dialect interface (v1.go,
// v2.go), picked once from the server's version. What both versions serve
// alike (InfluxQL reads through /query, line protocol through /api/v2/write)
// is written once, on the shared client of internal/influxclient.
package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// Sentinel errors callers branch on (the CLI maps them to hints). They are
// the shared client's, so a caller of this package and one of the backups
// test the same values.
var (
	ErrUnreachable       = influxclient.ErrUnreachable
	ErrUnauthorized      = influxclient.ErrUnauthorized
	ErrUnknownVersion    = influxclient.ErrUnknownVersion
	ErrUnsupported       = influxclient.ErrUnsupportedVersion
	ErrFieldTypeConflict = influxclient.ErrFieldTypeConflict
)

// QueryError is an InfluxQL statement the server refused; it carries the
// statement and the server's message.
type QueryError = influxclient.QueryError

// Dialect is how the provisioner talks to a server.
type Dialect string

// The two dialects: InfluxQL over /query for 1.x, the v2 HTTP API for 2.x.
const (
	DialectV1 Dialect = "1.x"
	DialectV2 Dialect = "2.x"
)

// Options configures a Provisioner. The zero value of every field but URL works.
type Options struct {
	URL     string   // base URL, http(s)://host:port; user:password in it is used when Token is empty (1.x)
	Token   string   // 1.x: "user:password" ("" when auth is off); 2.x: an API token
	Org     string   // 2.x organisation; "" means Desired.Org
	Desired *Desired // nil means DefaultDesired()
	// Dialect forces 1.x or 2.x; "" detects it from the server's /ping or /health.
	Dialect    Dialect
	Timeout    time.Duration    // one API call; 0 means 30 s (a rollup over history gets 20 times as long)
	HTTPClient *http.Client     // nil means the shared client's own
	Logger     *slog.Logger     // nil discards
	Now        func() time.Time // nil is time.Now; the end of a backfill and of the stale check
}

// Provisioner converges one InfluxDB server to a desired state. It is safe
// for concurrent use.
type Provisioner struct {
	client  *influxclient.Client
	org     string
	desired Desired
	forced  Dialect
	log     *slog.Logger
	now     func() time.Time

	mu  sync.Mutex // guards the two fields below, set on the first successful detection
	srv Server
	be  dialect
}

// dialect is what the Provisioner needs from one major version of InfluxDB,
// as elastic's backend is for the two search engines. Both implementations
// pass the same contract test (contract_test.go).
type dialect interface {
	// plan reads the live state of d's objects and compares it with d.
	plan(ctx context.Context, d Desired) (Plan, error)
	// apply runs the actions of a plan of d in order, stopping at the first
	// error, and returns those that applied.
	apply(ctx context.Context, d Desired, actions []Action) ([]Action, error)
	// rollup runs r once over [from, to) and returns how many points (one per
	// series and interval, all fields together) it wrote.
	rollup(ctx context.Context, d Desired, r rollup, from, to time.Time) (int64, error)
}

// Server describes the server a provisioner talks to.
type Server struct {
	URL     string  `json:"url"`     // never carries credentials
	Version string  `json:"version"` // as the server reports it: "1.8.10", "v2.7.12"
	Dialect Dialect `json:"dialect"`
}

// New checks opts and returns a Provisioner. It does not contact the server.
func New(opts Options) (*Provisioner, error) {
	switch opts.Dialect {
	case "", DialectV1, DialectV2:
	default:
		return nil, fmt.Errorf("influx dialect %q: use %s or %s", opts.Dialect, DialectV1, DialectV2)
	}
	c, err := influxclient.New(influxclient.Options{URL: opts.URL, Token: opts.Token, Timeout: opts.Timeout,
		HTTPClient: opts.HTTPClient, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	p := &Provisioner{client: c, log: opts.Logger, forced: opts.Dialect, org: opts.Org, now: opts.Now}
	if opts.Desired != nil {
		p.desired = *opts.Desired
	} else {
		p.desired = DefaultDesired()
	}
	if err := p.desired.Validate(); err != nil {
		return nil, err
	}
	if p.org == "" {
		p.org = p.desired.Org
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Desired returns the state the provisioner converges to.
func (p *Provisioner) Desired() Desired { return p.desired }

// Server reads the server's version (influxclient.ParseVersion: "1.8.10",
// "2.7.12", "v2.7.12" and "v2.7.12+SNAPSHOT.abc" are understood, 3.x wraps
// ErrUnsupported) and the dialect it implies.
func (p *Provisioner) Server(ctx context.Context) (Server, error) {
	_, srv, err := p.backend(ctx)
	return srv, err
}

// backend returns the dialect of the server, detected on the first call that
// reaches it and kept: every later verb uses the same one.
func (p *Provisioner) backend(ctx context.Context) (dialect, Server, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.be != nil {
		return p.be, p.srv, nil
	}
	srv := Server{URL: p.client.URL(), Dialect: p.forced}
	info, err := p.client.Server(ctx)
	srv.Version = info.Version.Raw
	switch {
	case err != nil && (p.forced == "" || !errors.Is(err, influxclient.ErrUnknownVersion) && !errors.Is(err, influxclient.ErrUnsupportedVersion)):
		return nil, srv, err
	case p.forced == "" && info.Version.Major == 2:
		srv.Dialect = DialectV2
	case p.forced == "":
		srv.Dialect = DialectV1
	}
	if srv.Dialect == DialectV2 {
		p.be = &v2{c: p.client, org: p.org, log: p.log}
	} else {
		p.be = &v1{c: p.client, log: p.log}
	}
	p.srv = srv
	return p.be, srv, nil
}
