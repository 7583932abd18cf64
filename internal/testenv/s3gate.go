package testenv

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// S3Gate is a pass-through HTTP proxy in front of an S3 server that can hold multipart part uploads, so
// that a test can act (kill a server, send a signal) while an upload is known to be in flight, without
// sleeping and hoping. Requests reach the real server unchanged: the Host header the client signed is
// kept, so SigV4 signatures stay valid. It is not a fake: every answer comes from the server behind it.
type S3Gate struct {
	// Endpoint is the gate's host:port; give it to the client instead of the server's.
	Endpoint string

	mu      sync.Mutex
	holding bool
	held    chan struct{} // closed when the first part upload is held
	release chan struct{} // closed by Release
	proxy   *httputil.ReverseProxy
}

// NewS3Gate starts a gate in front of the S3 server at target (host:port). It passes everything through
// until HoldParts is called.
func NewS3Gate(t testing.TB, target string) *S3Gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: S3 gate: %v", err)
	}
	g := &S3Gate{Endpoint: ln.Addr().String(), proxy: httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})}
	g.proxy.ErrorLog = log.New(io.Discard, "", 0) // a dead server behind the gate is what the tests want
	srv := &http.Server{Handler: g}
	go srv.Serve(ln)
	t.Cleanup(func() {
		g.Release()
		srv.Close()
	})
	return g
}

// HoldParts makes every part upload (PUT ?partNumber=&uploadId=) wait until Release. Held is closed when
// the first one arrives.
func (g *S3Gate) HoldParts() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding = true
	g.held = make(chan struct{})
	g.release = make(chan struct{})
}

// Held is closed once a part upload is being held.
func (g *S3Gate) Held() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// Release lets the held part uploads (and every later one) through to the server, in whatever state it
// is by then.
func (g *S3Gate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.holding {
		g.holding = false
		close(g.release)
	}
}

func (g *S3Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId") {
		g.mu.Lock()
		holding, held, release := g.holding, g.held, g.release
		if holding {
			select {
			case <-held:
			default:
				close(held)
			}
		}
		g.mu.Unlock()
		if holding {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
	}
	g.proxy.ServeHTTP(w, r)
}
