package stackenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/testenv"
)

// No Docker engine exists on the CI machine, so these tests run the provider
// against fakeEngine: an HTTP server on a unix socket that answers the Engine
// API endpoints the provider calls, the way the Docker documentation specifies
// them, and records the requests. They check what the provider asks of an
// engine and what it writes; that real images start is not tested here.
type fakeEngine struct {
	t        *testing.T
	sock     string
	mu       sync.Mutex
	calls    []string
	images   map[string]bool
	created  map[string]containerSpec
	running  map[string]bool
	exitCode map[string]int // a container that stops right after start
	ports    map[string]string
	pullErr  string
}

func newFakeEngine(t *testing.T, ports map[string]string) *fakeEngine {
	// A short path: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "qxd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fakeEngine{t: t, sock: filepath.Join(dir, "d.sock"), images: map[string]bool{}, created: map[string]containerSpec{},
		running: map[string]bool{}, exitCode: map[string]int{}, ports: ports}
	l, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return f
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	notFound := func(what string) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"No such %s"}`, what)
	}
	p := r.URL.Path
	switch {
	case p == "/_ping":
		io.WriteString(w, "OK")
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		if !f.images[strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/json")] {
			notFound("image")
			return
		}
		io.WriteString(w, `{}`)
	case r.Method == http.MethodPost && p == "/images/create":
		image := r.URL.Query().Get("fromImage") + ":" + r.URL.Query().Get("tag")
		io.WriteString(w, `{"status":"Pulling from library"}`+"\n")
		if f.pullErr != "" {
			fmt.Fprintf(w, `{"errorDetail":{"message":%q},"error":%q}`+"\n", f.pullErr, f.pullErr)
			return
		}
		f.images[image] = true
		io.WriteString(w, `{"status":"Downloaded newer image"}`+"\n")
	case r.Method == http.MethodPost && p == "/containers/create":
		name := r.URL.Query().Get("name")
		if _, ok := f.created[name]; ok {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"message":"Conflict. The container name is already in use"}`)
			return
		}
		var spec containerSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if !f.images[spec.Image] {
			notFound("image")
			return
		}
		f.created[name] = spec
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"Id":"abc","Warnings":[]}`)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/start"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/start")
		if _, ok := f.created[name]; !ok {
			notFound("container")
			return
		}
		if f.running[name] {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		f.running[name] = true
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json")
		spec, ok := f.created[name]
		if !ok {
			notFound("container")
			return
		}
		var info containerInfo
		info.ID = "abc"
		info.State.Status, info.State.Running = "created", false
		if f.running[name] {
			info.State.Status, info.State.Running = "running", true
			if code, ok := f.exitCode[name]; ok {
				info.State.Status, info.State.Running, info.State.ExitCode = "exited", false, code
			}
			info.NetworkSettings.Ports = map[string][]struct {
				HostIP   string `json:"HostIp"`
				HostPort string `json:"HostPort"`
			}{}
			for port := range spec.ExposedPorts {
				info.NetworkSettings.Ports[port] = append(info.NetworkSettings.Ports[port], struct {
					HostIP   string `json:"HostIp"`
					HostPort string `json:"HostPort"`
				}{"0.0.0.0", f.ports[port]})
			}
		}
		json.NewEncoder(w).Encode(info)
	case r.Method == http.MethodDelete && strings.HasPrefix(p, "/containers/"):
		name := strings.TrimPrefix(p, "/containers/")
		if r.URL.Query().Get("force") != "1" || r.URL.Query().Get("v") != "1" {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"message":"You cannot remove a running container"}`)
			return
		}
		if _, ok := f.created[name]; !ok {
			notFound("container")
			return
		}
		delete(f.created, name)
		delete(f.running, name)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"page not found: %s %s"}`, r.Method, p)
	}
}

func (f *fakeEngine) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// httpServer answers path with status, like a server that is up.
func httpServer(t *testing.T, path string, status int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	return port
}

func testOptions(t *testing.T, f *fakeEngine, services ...string) (Options, *bytes.Buffer) {
	var progress bytes.Buffer
	return Options{Provider: Docker, Services: services, Cache: t.TempDir(), Progress: &progress,
		DockerHost: "unix://" + f.sock}, &progress
}

// TestDockerUpDown: Up pulls a missing image, creates the container under its
// fixed name with the env, command, label and published ports of the
// service, starts it, waits until it answers, and writes the env lines with
// the published ports; a second Up reuses the running containers and their
// secret; Down removes them and the env file.
func TestDockerUpDown(t *testing.T) {
	influx := httpServer(t, "/ping", http.StatusNoContent)
	s3 := httpServer(t, "/health", http.StatusOK)
	f := newFakeEngine(t, map[string]string{"8086/tcp": influx, "8088/tcp": "18088", "7070/tcp": s3})
	f.images["influxdb:1.8"] = true // already pulled: no pull
	o, progress := testOptions(t, f, "influxdb", "s3")

	res, err := Up(t.Context(), o)
	if err != nil {
		t.Fatalf("Up: %v\n%s", err, progress)
	}
	if res.Provider != Docker {
		t.Fatalf("provider %q", res.Provider)
	}
	secret := res.Env["QUANTX_TESTENV_SECRET"]
	want := map[string]string{
		"QUANTX_TEST_INFLUX_URL":    "http://localhost:" + influx,
		"QUANTX_TEST_INFLUX_TOKEN":  "admin:" + secret,
		"QUANTX_TEST_INFLUX_RPC":    "localhost:18088",
		"QUANTX_TEST_S3_ENDPOINT":   "localhost:" + s3,
		"QUANTX_TEST_S3_ACCESS_KEY": "quantxtest",
		"QUANTX_TEST_S3_SECRET_KEY": secret,
		"QUANTX_TESTENV_PROVIDER":   "docker",
	}
	for k, v := range want {
		if res.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, res.Env[k], v)
		}
	}
	if len(secret) < 20 {
		t.Errorf("secret %q is too short", secret)
	}
	calls := strings.Join(f.callList(), "\n")
	if strings.Count(calls, "POST /images/create") != 1 || !f.images["versity/versitygw:v1.8.0"] {
		t.Errorf("want exactly one pull (versitygw):\n%s", calls)
	}
	spec := f.created["quantx-db-testenv-influxdb"]
	if spec.Image != "influxdb:1.8" || spec.Labels[containerLabel] != "1" ||
		!strings.Contains(strings.Join(spec.Env, " "), "INFLUXDB_ADMIN_PASSWORD="+secret) {
		t.Errorf("influxdb container spec: %+v", spec)
	}
	if _, ok := spec.HostConfig.PortBindings["8088/tcp"]; !ok {
		t.Errorf("8088/tcp not published: %+v", spec.HostConfig.PortBindings)
	}
	s3spec := f.created["quantx-db-testenv-s3"]
	if strings.Join(s3spec.Cmd, " ") != "--port :7070 --health /health --quiet posix --versioning-dir /tmp/versions /tmp" {
		t.Errorf("s3 command %q", s3spec.Cmd)
	}

	// Again: the running containers are reused, with the same secret.
	before := len(f.callList())
	res2, err := Up(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Env["QUANTX_TESTENV_SECRET"] != secret {
		t.Errorf("second Up changed the secret")
	}
	for _, c := range f.callList()[before:] {
		if strings.Contains(c, "/create") || strings.HasSuffix(c, "/start") {
			t.Errorf("second Up called %s on running containers", c)
		}
	}

	if err := Down(t.Context(), Options{Services: o.Services, Cache: o.Cache, DockerHost: o.DockerHost}); err != nil {
		t.Fatal(err)
	}
	if len(f.created) != 0 {
		t.Errorf("containers left after Down: %v", f.created)
	}
	if _, err := os.Stat(envFile(o)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("env file left after Down: %v", err)
	}
	// Down again: nothing to remove is not an error.
	if err := Down(t.Context(), Options{Provider: Docker, Services: o.Services, Cache: o.Cache, DockerHost: o.DockerHost}); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

// TestDockerUpFailures: a failed pull, and a container that exits while Up
// waits for it, fail with the cause and a command to look further, without
// waiting for the start-up timeout.
func TestDockerUpFailures(t *testing.T) {
	f := newFakeEngine(t, map[string]string{"8086/tcp": "1", "8088/tcp": "2"})
	f.pullErr = "toomanyrequests: You have reached your pull rate limit"
	o, _ := testOptions(t, f, "influxdb")
	_, err := Up(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "pull influxdb:1.8: toomanyrequests") {
		t.Fatalf("pull failure: %v", err)
	}

	f.pullErr = ""
	f.exitCode["quantx-db-testenv-influxdb"] = 137
	t0 := time.Now()
	_, err = Up(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "exit code 137") || !strings.Contains(err.Error(), "docker logs quantx-db-testenv-influxdb") {
		t.Fatalf("exited container: %v", err)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("Up took %s to notice the exited container", d)
	}
	if _, err := os.Stat(envFile(o)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("env file written after a failed Up: %v", err)
	}
}

// TestDockerPingHang: an engine socket that accepts and never answers makes
// the docker provider fail with ErrNoDocker (within the ping's 2 s), and the
// auto provider choose the local servers instead of hanging.
func TestDockerPingHang(t *testing.T) {
	dir, err := os.MkdirTemp("", "qxd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err = dockerEngine(ctx, Options{DockerHost: "unix://" + sock})
	if !errors.Is(err, ErrNoDocker) || ctx.Err() != nil {
		t.Fatalf("hanging engine: %v (context %v)", err, ctx.Err())
	}
	_, err = Up(ctx, Options{Provider: Docker, Services: []string{"postgres"}, Cache: t.TempDir(), DockerHost: "unix://" + sock})
	if !errors.Is(err, ErrNoDocker) {
		t.Fatalf("Up --provider docker: %v", err)
	}
}

func TestNewEngine(t *testing.T) {
	for _, c := range []struct {
		host, err, tcp string
		tls            bool
	}{
		{host: "", tcp: ""},
		{host: "unix:///run/user/1000/docker.sock"},
		{host: "tcp://10.0.0.5:2375", tcp: "10.0.0.5"},
		{host: "tcp://docker:2376", tls: true, err: "DOCKER_TLS_VERIFY"},
		{host: "ssh://me@host", err: "scheme ssh is not supported"},
		{host: "/var/run/docker.sock", err: "use unix:///path or tcp://host:port"},
	} {
		e, err := newEngine(c.host, c.tls)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.host, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.host, err)
		case c.err == "" && e.tcp != c.tcp:
			t.Errorf("%q: published host %q, want %q", c.host, e.tcp, c.tcp)
		}
	}
	if n, tag := splitImage("docker.elastic.co/elasticsearch/elasticsearch:8.19.4"); n != "docker.elastic.co/elasticsearch/elasticsearch" || tag != "8.19.4" {
		t.Errorf("splitImage: %s %s", n, tag)
	}
	if n, tag := splitImage("localhost:5000/postgres"); n != "localhost:5000/postgres" || tag != "latest" {
		t.Errorf("splitImage: %s %s", n, tag)
	}
}

// TestPostgresReadiness: the PostgreSQL probe connects and queries a real
// server (the shared test PostgreSQL, which trusts its postgres user as the
// container does), and fails on a port where nothing listens.
func TestPostgresReadiness(t *testing.T) {
	u, err := url.Parse(testenv.PostgresAdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	r := readiness{port: "5432/tcp", timeout: time.Minute}
	if err := probe(t.Context(), r, u.Hostname(), u.Port()); err != nil {
		t.Fatalf("probe of a running PostgreSQL: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	if err := probe(t.Context(), r, "127.0.0.1", port); err == nil {
		t.Fatal("probe of a closed port succeeded")
	}
}
