// Package influx provisions InfluxDB for the QuantX time series: the
// database (1.x) or buckets (2.x), the three retention tiers, and the rollups
// that fill the hourly and daily tiers from the raw one (continuous queries on
// 1.x, Flux tasks on 2.x). It also holds the line-protocol contract of each
// measurement. It is a library; the quantx-db CLI (influx setup, influx status,
// provision, status) is one of its callers.
//
// Everything goes through a plan: the live state is read, compared with a
// Desired state, and the differences become Actions. Setup applies them,
// Status reports them. No action ever drops data: an unknown retention
// policy, bucket or rollup is reported as an Extra and left alone.
package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// Sentinel errors callers branch on (the CLI maps them to hints).
var (
	ErrUnreachable       = errors.New("influxdb is unreachable")
	ErrUnauthorized      = errors.New("influxdb refused the credentials (401)")
	ErrUnknownVersion    = influxclient.ErrUnknownVersion
	ErrUnsupported       = influxclient.ErrUnsupportedVersion
	ErrFieldTypeConflict = errors.New("field type conflict")
)

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
	HTTPClient *http.Client // nil means a client with a 30 s timeout
	Logger     *slog.Logger // nil discards
}

// Provisioner converges one InfluxDB server to a desired state.
type Provisioner struct {
	base    *url.URL // without user info: safe to print
	user    string
	pass    string
	token   string
	org     string
	desired Desired
	dialect Dialect
	hc      *http.Client
	log     *slog.Logger
}

// Server describes the server a provisioner talks to.
type Server struct {
	URL     string  `json:"url"` // never carries credentials
	Version string  `json:"version"`
	Dialect Dialect `json:"dialect"`
}

// New checks opts and returns a Provisioner. It does not contact the server.
func New(opts Options) (*Provisioner, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse errors quote the input, which may hold a password: don't wrap them.
		return nil, fmt.Errorf("influx url: want http(s)://host:port")
	}
	p := &Provisioner{hc: opts.HTTPClient, log: opts.Logger, dialect: opts.Dialect, org: opts.Org}
	if u.User != nil {
		p.user = u.User.Username()
		p.pass, _ = u.User.Password()
		u.User = nil
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	p.base = u
	if opts.Token != "" {
		p.token = opts.Token
		if user, pass, ok := strings.Cut(opts.Token, ":"); ok {
			p.user, p.pass = user, pass
		}
	}
	switch opts.Dialect {
	case "", DialectV1, DialectV2:
	default:
		return nil, fmt.Errorf("influx dialect %q: use %s or %s", opts.Dialect, DialectV1, DialectV2)
	}
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
	if p.hc == nil {
		p.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Desired returns the state the provisioner converges to.
func (p *Provisioner) Desired() Desired { return p.desired }

// Server reads the server's version and picks the dialect: /ping's
// X-Influxdb-Version header (1.x and 2.x), else /health's "version".
func (p *Provisioner) Server(ctx context.Context) (Server, error) {
	s := Server{URL: p.base.String(), Dialect: p.dialect}
	resp, err := p.do(ctx, http.MethodGet, "/ping", nil, "")
	if err != nil {
		return s, err
	}
	resp.Body.Close()
	s.Version = resp.Header.Get("X-Influxdb-Version")
	if s.Version == "" || s.Version == "unknown" {
		var h struct {
			Version string `json:"version"`
		}
		if err := p.getJSON(ctx, "/health", &h); err == nil {
			s.Version = h.Version
		}
	}
	if s.Dialect != "" {
		return s, nil // forced by Options.Dialect
	}
	v, err := influxclient.ParseVersion(s.Version)
	if err != nil {
		return s, fmt.Errorf("%s: %w", s.URL, err)
	}
	s.Dialect = DialectV1
	if v.Major == 2 {
		s.Dialect = DialectV2
	}
	return s, nil
}
