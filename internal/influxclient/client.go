// Package influxclient is the one HTTP client quantx-db talks to InfluxDB 1.x
// and 2.x with: transport, credentials, timeouts, retries of transient
// answers, error mapping (ErrUnreachable, ErrUnauthorized, *HTTPError,
// *QueryError) and version detection (ParseVersion). The provisioner (package
// influx), the backups (package backup) and the test helpers (internal/testenv)
// all use it, so a rule such as "which server is 2.x" or "what a 401 means" is
// written once.
//
// It knows HTTP and the two wire formats every version shares (InfluxQL over
// /query, line protocol over /api/v2/write); it knows nothing of tiers,
// rollups or backups.
package influxclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Options configures a Client. The zero value of every field but URL works.
type Options struct {
	URL string // http(s)://host:port; user:password in it is used when Token is empty
	// Token is "user:password" (1.x, sent as basic auth) or a 2.x API token
	// (sent as "Authorization: Token ..."). Empty: no credentials (1.x without auth).
	Token string
	// Timeout bounds connecting, and the whole of an ordinary call (request
	// and answer read). Streams (Request.Stream) wait for the answer's headers
	// at most 10 times as long and are then bounded by the caller's context
	// only. 0 means 30 s.
	Timeout time.Duration
	// RetryFor is how long a request marked Retry keeps retrying transient
	// failures (no connection, 500, 502, 503, 504) with exponential backoff.
	// 0 means 30 s; a negative value turns retries off.
	RetryFor   time.Duration
	HTTPClient *http.Client // nil: one built from Timeout
	Logger     *slog.Logger // retries are logged at warn; nil discards
}

// Client talks to one InfluxDB server. It is safe for concurrent use.
type Client struct {
	base     *url.URL // without credentials: safe to print
	auth     string   // the Authorization header value; never printed
	hc       *http.Client
	timeout  time.Duration
	retryFor time.Duration
	log      *slog.Logger
}

// New checks o and returns a Client. It does not contact the server.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse errors quote the input, which may hold a password: don't wrap them.
		return nil, ErrBadURL
	}
	c := &Client{timeout: o.Timeout, retryFor: o.RetryFor, log: o.Logger, hc: o.HTTPClient}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	if o.Token != "" {
		if tu, tp, ok := strings.Cut(o.Token, ":"); ok {
			user, pass = tu, tp
		} else {
			user = ""
			c.auth = "Token " + o.Token
		}
	}
	if user != "" {
		c.auth = "Basic " + basicAuth(user, pass)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c.base = u
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.retryFor == 0 {
		c.retryFor = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}).DialContext
		c.hc = &http.Client{Transport: tr}
	}
	// Credentials go in a header added by the transport, never in the URL (a
	// URL ends up in errors and logs), so that influxdb-client-go, handed
	// HTTPClient() and no token, sends the same credentials as Do.
	c.hc = &http.Client{Transport: &authTransport{next: transportOf(c.hc), auth: c.auth},
		CheckRedirect: c.hc.CheckRedirect, Jar: c.hc.Jar, Timeout: c.hc.Timeout}
	return c, nil
}

// URL is the server's base URL, without credentials.
func (c *Client) URL() string { return c.base.String() }

// HTTPClient is an *http.Client that adds the credentials to every request,
// for libraries such as influxdb-client-go (give them an empty token).
func (c *Client) HTTPClient() *http.Client { return c.hc }

// Timeout is the bound of an ordinary call (Options.Timeout).
func (c *Client) Timeout() time.Duration { return c.timeout }

// Request is one HTTP call.
type Request struct {
	Method string
	Path   string     // below the base URL, e.g. /api/v2/buckets
	Query  url.Values // nil: none
	// Body is sent as is. A request with Retry and a body needs an
	// io.Seeker (bytes.Reader, strings.Reader, *os.File): it is rewound
	// before each attempt.
	Body        io.Reader
	ContentType string
	// Retry retries transient failures (see Options.RetryFor). Only for
	// requests that may safely run twice.
	Retry bool
	// Stream leaves the answer's body to the caller, unread and bounded only
	// by ctx (large downloads). Otherwise Do reads the whole answer within
	// Timeout and returns it as an in-memory body.
	Stream bool
	// Timeout replaces Options.Timeout for this call (long queries); 0 keeps it.
	Timeout time.Duration
}

// Do sends r and returns a 2xx answer. Any other status is an *HTTPError
// (errors.Is(err, ErrUnauthorized) for 401 and 403); no answer at all wraps
// ErrUnreachable; a cancelled ctx returns ctx.Err().
func (c *Client) Do(ctx context.Context, r Request) (*http.Response, error) {
	if !r.Retry || c.retryFor < 0 {
		return c.once(ctx, r)
	}
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(250*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(c.retryFor))
	attempt := 0
	return backoff.RetryNotifyWithData(func() (*http.Response, error) {
		attempt++
		if s, ok := r.Body.(io.Seeker); ok && attempt > 1 {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return nil, backoff.Permanent(err)
			}
		}
		resp, err := c.once(ctx, r)
		if err != nil && !Transient(err) {
			return nil, backoff.Permanent(err)
		}
		return resp, err
	}, backoff.WithContext(b, ctx), func(err error, wait time.Duration) {
		c.log.WarnContext(ctx, "influx request retried", "method", r.Method, "path", r.Path, "attempt", attempt, "wait", wait, "error", err)
	})
}

// once sends r one time.
func (c *Client) once(ctx context.Context, r Request) (*http.Response, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	timeout := c.timeout
	if r.Timeout > 0 {
		timeout = r.Timeout
	}
	u := *c.base
	u.Path += r.Path
	if r.Query != nil {
		u.RawQuery = r.Query.Encode()
	}
	var cancel context.CancelFunc
	rctx := ctx
	if r.Stream {
		// Only the wait for the headers is bounded: the body may take hours.
		rctx, cancel = context.WithCancel(ctx)
		t := time.AfterFunc(10*timeout, cancel)
		defer t.Stop()
	} else {
		rctx, cancel = context.WithTimeout(ctx, timeout)
	}
	req, err := http.NewRequestWithContext(rctx, r.Method, u.String(), r.Body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// *url.Error repeats the URL; keep only the cause, named by the clean base URL.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return nil, &unreachableError{base: c.base.String(), op: r.Method + " " + r.Path, err: err}
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		return nil, newHTTPError(r.Method, r.Path, c.base.String(), resp)
	}
	if r.Stream {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	defer cancel()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &unreachableError{base: c.base.String(), op: r.Method + " " + r.Path, err: fmt.Errorf("reading the answer: %w", err)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// maxAnswer caps an ordinary answer read into memory (a /query result of a
// large SELECT is the biggest one quantx-db reads).
const maxAnswer = 256 << 20

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// authTransport adds the Authorization header.
type authTransport struct {
	next http.RoundTripper
	auth string
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.auth != "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", t.auth)
	}
	return t.next.RoundTrip(r)
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

func basicAuth(user, pass string) string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(user, pass)
	_, v, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	return v
}
