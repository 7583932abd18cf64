// Package elastic provisions the QuantX search indices on Elasticsearch 8 or
// OpenSearch 2: component and index templates, versioned physical indices
// behind a read alias and a write alias, a history of what was applied, a
// zero-downtime reindex into a new version, and retention for time-based
// indices (ILM, ISM, or the tool's own rollover and delete).
//
// The desired state is a set of JSON files (Defs, embedded by default). The
// Provisioner compares it with the server (Plan, Status) and applies it
// (Setup, Reindex). Two backends, one per engine, sit behind an unexported
// interface; New picks one by name or by probing the server. A plan is data:
// each Action carries the request body it sends, and one function (run)
// turns an action into its call.
//
// Reindex guarantee: while an application indexes, updates and deletes
// through the write alias, the read alias after Reindex holds exactly the
// application's final state: nothing lost, nothing deleted brought back, no
// update replaced by an older copy. The copy runs while readers and writers
// stay on the old index; changes are caught up by _seq_no; only the final
// catch-up runs under a write block on the old index (writes refused with
// HTTP 403 for at most ReindexOptions.MaxWriteBlock, to be retried), and
// both aliases move in one atomic call. An interrupted reindex is reported
// by Status (StateInterrupted) and finished by running Reindex again.
// docs/elastic.md explains the method and gives measured block lengths.
package elastic

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/progress"
)

// Engine names a search server product.
type Engine string

// The engines. EngineAuto probes the server (see Detect).
const (
	EngineAuto          Engine = "auto"
	EngineElasticsearch Engine = "elasticsearch"
	EngineOpenSearch    Engine = "opensearch"
)

// Sentinel errors callers branch on.
var (
	ErrUnreachable  = errors.New("search server unreachable")
	ErrUnauthorized = errors.New("search server refused the credentials")
	ErrNotFound     = errors.New("not found")
	ErrInvalidName  = errors.New("invalid index name")
	ErrUnknownIndex = errors.New("no such logical index in the definitions")
	ErrNotSetUp     = errors.New("index not set up")
	ErrVerifyFailed = errors.New("reindex verification failed")
	// ErrWriteBlockTimeout: the final catch-up of a reindex could not finish
	// within ReindexOptions.MaxWriteBlock; writes were let through again and
	// nothing was switched.
	ErrWriteBlockTimeout = errors.New("final catch-up did not fit in the write block bound")
	// ErrWriteBlocked: the write index refuses writes (index.blocks.write)
	// and no interrupted reindex explains it.
	ErrWriteBlocked = errors.New("write index is write-blocked")
	// ErrTargetExists: the physical index a reindex would create exists and
	// cannot be taken over.
	ErrTargetExists = errors.New("reindex target exists")
	// ErrSplitAliases: the read and write aliases point at indices Reindex
	// cannot join.
	ErrSplitAliases  = errors.New("read and write aliases on different indices")
	ErrUnknownEngine = errors.New("cannot tell which search engine this is")
	ErrBadDefinition = errors.New("invalid definition")
	errNoHandler     = errors.New("the server has no handler for this API")
)

// Options configures a Provisioner. The zero value of every field is a usable
// default, except URL.
type Options struct {
	URL       string // base URL; user:password in it is used for basic auth
	Engine    Engine // "" or EngineAuto probes the server
	Prefix    string // prepended to every index, alias, template and policy name (tests use one per test)
	Defs      fs.FS  // desired state; nil means the embedded definitions (DefaultDefs)
	Logger    *slog.Logger
	Transport http.RoundTripper // nil means http.DefaultTransport
	Now       func() time.Time  // nil means time.Now; retention decisions depend on it
	// Progress receives the bulk copy of a reindex (phase "copy", documents
	// done of the total to copy); nil reports nothing.
	Progress progress.Func
}

// Provisioner compares and applies the desired search state on one server.
type Provisioner struct {
	b      backend
	engine Engine
	defs   *Defs
	log    *slog.Logger
	now    func() time.Time
	prog   progress.Func
	feat   *features
}

// New validates opts, loads the definitions and connects a backend. With
// EngineAuto it probes the server, so it takes a context.
func New(ctx context.Context, opts Options) (*Provisioner, error) {
	if opts.URL == "" {
		return nil, errors.New("elastic: Options.URL is empty")
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("elastic: Options.URL must be an http(s) URL")
	}
	src := opts.Defs
	if src == nil {
		src = DefaultDefs()
	}
	defs, err := LoadDefs(src, opts.Prefix)
	if err != nil {
		return nil, err
	}
	p := &Provisioner{defs: defs, log: opts.Logger, now: opts.Now, prog: opts.Progress}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	c := conn{addr: strings.TrimRight((&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(), "/"), transport: opts.Transport}
	if c.transport == nil {
		c.transport = http.DefaultTransport
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
	}
	engine := opts.Engine
	switch engine {
	case "", EngineAuto:
		if engine, err = detect(ctx, c); err != nil {
			return nil, err
		}
		p.log.DebugContext(ctx, "search engine detected", "engine", engine)
	case EngineElasticsearch, EngineOpenSearch:
	default:
		return nil, fmt.Errorf("elastic: unknown engine %q: use auto, elasticsearch or opensearch", engine)
	}
	switch engine {
	case EngineElasticsearch:
		p.b, err = newES8(c)
	case EngineOpenSearch:
		p.b, err = newOpenSearch(c)
	}
	if err != nil {
		return nil, fmt.Errorf("elastic: %s client: %w", engine, err)
	}
	p.engine = engine
	return p, nil
}

// Engine is the engine in use (after detection).
func (p *Provisioner) Engine() Engine { return p.engine }

// Defs is the desired state the Provisioner works from.
func (p *Provisioner) Defs() *Defs { return p.defs }

// conn is what both backends and the probe need to reach the server.
type conn struct {
	addr      string
	user      string
	password  string
	transport http.RoundTripper
}

// ServerError is an error answer from the server. Reason is the first
// root cause's reason, which is what an operator needs to fix a definition.
type ServerError struct {
	Op     string // what was attempted, e.g. "put index template quantx-instruments"
	Status int
	Type   string
	Reason string // error.root_cause[0].reason
	Cause  string // the innermost caused_by reason, when it says more than Reason
}

func (e *ServerError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("%s: HTTP %d: %s", e.Op, e.Status, e.Reason)
	}
	msg := fmt.Sprintf("%s: HTTP %d: %s: %s", e.Op, e.Status, e.Type, e.Reason)
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	return msg
}

// Is lets callers test a server answer with errors.Is against the sentinels.
func (e *ServerError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case errNoHandler:
		// An API the distribution lacks (ILM, ISM, _reindex): 400 "no handler
		// found" when no method exists for the path, 405 when another does.
		return e.Status == http.StatusMethodNotAllowed ||
			(e.Status == http.StatusBadRequest && strings.Contains(e.Reason, "no handler found"))
	}
	return false
}
