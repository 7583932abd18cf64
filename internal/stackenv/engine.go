package stackenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// engine is a client of the Docker Engine API, limited to the endpoints a
// test stack needs: ping, image inspect and pull, container create, start,
// inspect and remove, and the bridge network's gateway.
//
// Why not the Docker client library (or testcontainers-go, which this
// replaced): linking either into quantx-db costs every command of the binary
// its package initialisation at start-up (testcontainers-go lists every process
// of the machine through /proc in an init function; the Docker client brings
// image-reference regexps, OpenTelemetry and more), measured at 10-70 ms per
// process on the CI machine (BENCHMARKS.md, migration lint). The handful of
// endpoints used here have been stable across Engine API versions for years, so
// requests go to unversioned paths: the daemon answers with its own API
// version, which avoids the minimum-version errors of a pinned client.
type engine struct {
	client *http.Client
	base   string // "http://docker" for a unix socket, "http://host:port" for tcp://
	where  string // DOCKER_HOST as resolved, for messages
	tcp    string // the host of a tcp:// DOCKER_HOST, where published ports are reached
}

// defaultDockerHost is where the engine listens unless DOCKER_HOST says otherwise.
const defaultDockerHost = "unix:///var/run/docker.sock"

// newEngine resolves dockerHost (DOCKER_HOST; "" means the default socket).
// A unix socket and plain tcp:// are supported; TLS is not.
func newEngine(dockerHost string, tls bool) (*engine, error) {
	if dockerHost == "" {
		dockerHost = defaultDockerHost
	}
	if tls {
		return nil, fmt.Errorf("DOCKER_TLS_VERIFY is set: testenv talks to the Docker engine without TLS; use its unix socket or --provider local")
	}
	scheme, addr, ok := strings.Cut(dockerHost, "://")
	if !ok {
		return nil, fmt.Errorf("DOCKER_HOST %q: use unix:///path or tcp://host:port", dockerHost)
	}
	e := &engine{where: dockerHost}
	var dial func(ctx context.Context) (net.Conn, error)
	switch scheme {
	case "unix":
		e.base = "http://docker"
		dial = func(ctx context.Context) (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "unix", addr) }
	case "tcp":
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("DOCKER_HOST %q: %w", dockerHost, err)
		}
		e.base, e.tcp = "http://"+addr, host
		dial = func(ctx context.Context) (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "tcp", addr) }
	default:
		return nil, fmt.Errorf("DOCKER_HOST %q: scheme %s is not supported; use unix:// or tcp://", dockerHost, scheme)
	}
	e.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}
	return e, nil
}

// engineError is a non-2xx answer of the engine.
type engineError struct {
	Status  int
	Message string
}

func (e *engineError) Error() string {
	return fmt.Sprintf("docker engine: %s (HTTP %d)", e.Message, e.Status)
}

func isStatus(err error, status int) bool {
	var ee *engineError
	return errors.As(err, &ee) && ee.Status == status
}

// call sends one request; a JSON answer is decoded into out when out is not nil.
func (e *engine) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := e.open(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("docker engine %s %s: %w", method, path, err)
	}
	return nil
}

// open sends one request and returns the response of a 2xx or 304 answer,
// whose body the caller closes.
func (e *engine) open(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	u := e.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker engine on %s: %w", e.where, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
		defer resp.Body.Close()
		var m struct {
			Message string `json:"message"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = strings.TrimSpace(string(b))
		}
		return nil, &engineError{Status: resp.StatusCode, Message: m.Message}
	}
	return resp, nil
}

// ping fails within 2 s when no engine answers: a socket that accepts and
// never replies must not hang `testenv up`.
func (e *engine) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := e.call(ctx, http.MethodGet, "/_ping", nil, nil, nil); err != nil {
		return fmt.Errorf("no Docker engine on %s: %w", e.where, err)
	}
	return nil
}

// ensureImage pulls image unless the engine has it. Images are pulled
// anonymously (they are public); pull them beforehand to use credentials.
func (e *engine) ensureImage(ctx context.Context, image string, progress io.Writer) error {
	err := e.call(ctx, http.MethodGet, "/images/"+image+"/json", nil, nil, nil)
	if err == nil || !isStatus(err, http.StatusNotFound) {
		return err
	}
	fmt.Fprintf(progress, "pulling %s\n", image)
	name, tag := splitImage(image)
	resp, err := e.open(ctx, http.MethodPost, "/images/create", url.Values{"fromImage": {name}, "tag": {tag}}, nil)
	if err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	defer resp.Body.Close()
	// The answer is a stream of JSON progress messages; a failure arrives as a
	// message with "error" after the 200 status.
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("pull %s: %w", image, err)
		}
		if m.Error != "" {
			return fmt.Errorf("pull %s: %s", image, m.Error)
		}
	}
}

// splitImage splits "registry/name:tag" into name and tag ("latest" if none).
func splitImage(image string) (name, tag string) {
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		return image[:i], image[i+1:]
	}
	return image, "latest"
}

// containerInfo is the part of GET /containers/{name}/json that testenv reads.
type containerInfo struct {
	ID    string `json:"Id"`
	State struct {
		Status   string `json:"Status"` // created, running, paused, restarting, exited, dead
		Running  bool   `json:"Running"`
		ExitCode int    `json:"ExitCode"`
	} `json:"State"`
	NetworkSettings struct {
		Ports map[string][]struct {
			HostIP   string `json:"HostIp"`
			HostPort string `json:"HostPort"`
		} `json:"Ports"`
	} `json:"NetworkSettings"`
}

// inspect returns nil, nil when no container has that name.
func (e *engine) inspect(ctx context.Context, name string) (*containerInfo, error) {
	var info containerInfo
	err := e.call(ctx, http.MethodGet, "/containers/"+name+"/json", nil, nil, &info)
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// hostPort returns the host port published for a container port ("5432/tcp").
func (c *containerInfo) hostPort(port string) string {
	for _, b := range c.NetworkSettings.Ports[port] {
		if b.HostPort != "" {
			return b.HostPort
		}
	}
	return ""
}

// containerSpec is the body of POST /containers/create.
type containerSpec struct {
	Image        string              `json:"Image"`
	Env          []string            `json:"Env,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	HostConfig   struct {
		// Every exposed port is published on a free port of the host.
		PortBindings map[string][]portBinding `json:"PortBindings,omitempty"`
	} `json:"HostConfig"`
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

func (e *engine) create(ctx context.Context, name string, spec containerSpec) error {
	return e.call(ctx, http.MethodPost, "/containers/create", url.Values{"name": {name}}, spec, nil)
}

// start starts a created or stopped container; one already running is fine (304).
func (e *engine) start(ctx context.Context, name string) error {
	return e.call(ctx, http.MethodPost, "/containers/"+name+"/start", nil, nil, nil)
}

// remove stops and removes a container with its anonymous volumes; one that
// does not exist is already removed.
func (e *engine) remove(ctx context.Context, name string) error {
	err := e.call(ctx, http.MethodDelete, "/containers/"+name, url.Values{"force": {"1"}, "v": {"1"}}, nil, nil)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// publishedHost is the host name under which the containers' published ports
// are reached: the host of a tcp:// engine; localhost for a local socket; and,
// when quantx-db itself runs in a container (a CI job's container talking to
// the host's engine), the gateway of the engine's bridge network.
func (e *engine) publishedHost(ctx context.Context) string {
	if e.tcp != "" {
		return e.tcp
	}
	if _, err := os.Stat("/.dockerenv"); err != nil {
		return "localhost"
	}
	var nw struct {
		IPAM struct {
			Config []struct {
				Gateway string `json:"Gateway"`
			} `json:"Config"`
		} `json:"IPAM"`
	}
	if err := e.call(ctx, http.MethodGet, "/networks/bridge", nil, nil, &nw); err == nil {
		for _, c := range nw.IPAM.Config {
			if c.Gateway != "" {
				return c.Gateway
			}
		}
	}
	return "localhost"
}
