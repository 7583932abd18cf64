package stackenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// container is one server image, how to tell it is ready, and the env lines
// that point at it.
type container struct {
	name  string
	image string
	env   map[string]string // the container's environment
	cmd   []string
	ports []string // container ports published on free host ports ("5432/tcp")
	ready readiness
	lines func(host string, port func(string) string) []string
}

// readiness is how Up knows a server answers: an HTTP GET on port that
// returns status, or (path "") a PostgreSQL connection and a query.
type readiness struct {
	port    string
	path    string
	status  int
	timeout time.Duration
}

// containerName is fixed per service, so that Up finds and reuses a running
// stack and Down finds it again from another process.
func containerName(service string) string { return "quantx-db-testenv-" + service }

// containerLabel marks the containers testenv created.
const containerLabel = "quantx-db.testenv"

func containers(secret string) []container {
	search := func(name, image string, env map[string]string, key string) container {
		return container{name: name, image: image, env: env, ports: []string{"9200/tcp"},
			ready: readiness{port: "9200/tcp", path: "/_cluster/health?wait_for_status=yellow", status: http.StatusOK, timeout: 3 * time.Minute},
			lines: func(h string, p func(string) string) []string {
				return []string{key + "=http://" + net.JoinHostPort(h, p("9200"))}
			}}
	}
	return []container{
		{name: "postgres", image: "postgres:15",
			env:   map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust"},
			cmd:   []string{"-c", "fsync=off", "-c", "max_connections=200", "-c", "max_locks_per_transaction=256"},
			ports: []string{"5432/tcp"},
			ready: readiness{port: "5432/tcp", timeout: 2 * time.Minute},
			lines: func(h string, p func(string) string) []string {
				return []string{"QUANTX_TEST_DATABASE_URL=" + postgresURL(h, p("5432"))}
			}},
		{name: "influxdb", image: "influxdb:1.8",
			env: map[string]string{"INFLUXDB_HTTP_AUTH_ENABLED": "true", "INFLUXDB_HTTP_FLUX_ENABLED": "true",
				"INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": secret,
				"INFLUXDB_BIND_ADDRESS": ":8088", "INFLUXDB_REPORTING_DISABLED": "true"},
			ports: []string{"8086/tcp", "8088/tcp"},
			ready: readiness{port: "8086/tcp", path: "/ping", status: http.StatusNoContent, timeout: time.Minute},
			lines: func(h string, p func(string) string) []string {
				return []string{"QUANTX_TEST_INFLUX_URL=http://" + net.JoinHostPort(h, p("8086")),
					"QUANTX_TEST_INFLUX_TOKEN=admin:" + secret, "QUANTX_TEST_INFLUX_RPC=" + net.JoinHostPort(h, p("8088"))}
			}},
		{name: "s3", image: "versity/versitygw:v1.8.0",
			env:   map[string]string{"ROOT_ACCESS_KEY": "quantxtest", "ROOT_SECRET_KEY": secret},
			cmd:   []string{"--port", ":7070", "--health", "/health", "--quiet", "posix", "--versioning-dir", "/tmp/versions", "/tmp"},
			ports: []string{"7070/tcp"},
			ready: readiness{port: "7070/tcp", path: "/health", status: http.StatusOK, timeout: time.Minute},
			lines: func(h string, p func(string) string) []string {
				return []string{"QUANTX_TEST_S3_ENDPOINT=" + net.JoinHostPort(h, p("7070")),
					"QUANTX_TEST_S3_ACCESS_KEY=quantxtest", "QUANTX_TEST_S3_SECRET_KEY=" + secret}
			}},
		search("opensearch", "opensearchproject/opensearch:2.19.4", map[string]string{"discovery.type": "single-node",
			"DISABLE_SECURITY_PLUGIN": "true", "OPENSEARCH_JAVA_OPTS": "-Xms512m -Xmx512m", "DISABLE_INSTALL_DEMO_CONFIG": "true"},
			"QUANTX_TEST_OPENSEARCH_URL"),
		search("elasticsearch", "docker.elastic.co/elasticsearch/elasticsearch:8.19.4", map[string]string{"discovery.type": "single-node",
			"xpack.security.enabled": "false", "ES_JAVA_OPTS": "-Xms512m -Xmx512m"}, "QUANTX_TEST_ELASTICSEARCH_URL"),
	}
}

func postgresURL(host, port string) string {
	return "postgres://postgres@" + net.JoinHostPort(host, port) + "/postgres?sslmode=disable"
}

// dockerUp starts (or reuses) one container per service, waits until each
// answers, and writes the env file. The containers outlive this process: a CI
// job runs `testenv up` in one step and the tests in the next.
func dockerUp(ctx context.Context, o Options, e *engine) error {
	secret := strings.ToLower(rand.Text())
	if old, err := ReadEnv(o); err == nil && old["QUANTX_TESTENV_SECRET"] != "" {
		secret = old["QUANTX_TESTENV_SECRET"] // reused containers keep their passwords
	}
	lines := []string{"# written by quantx-db testenv up (docker); source it",
		"export QUANTX_TESTENV_PROVIDER=docker", "export QUANTX_TESTENV_SECRET=" + secret}
	host := e.publishedHost(ctx)
	for _, s := range containers(secret) {
		if !contains(o.Services, s.name) {
			continue
		}
		fmt.Fprintf(o.Progress, "starting %s (%s)\n", s.name, s.image)
		info, err := runContainer(ctx, e, s, o)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		port := func(p string) string { return info.hostPort(p + "/tcp") }
		if err := waitReady(ctx, e, s, host, info, o); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		for _, l := range s.lines(host, port) {
			lines = append(lines, "export "+l)
		}
	}
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return err
	}
	return os.WriteFile(envFile(o), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// runContainer finds the service's container by its fixed name, or pulls the
// image and creates it, starts it unless it runs, and returns it once every
// port is published.
func runContainer(ctx context.Context, e *engine, s container, o Options) (*containerInfo, error) {
	name := containerName(s.name)
	info, err := e.inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if info == nil {
		if err := e.ensureImage(ctx, s.image, o.Progress); err != nil {
			return nil, err
		}
		spec := containerSpec{Image: s.image, Cmd: s.cmd, Labels: map[string]string{containerLabel: "1"},
			ExposedPorts: map[string]struct{}{}}
		for _, k := range slices.Sorted(maps.Keys(s.env)) {
			spec.Env = append(spec.Env, k+"="+s.env[k])
		}
		spec.HostConfig.PortBindings = map[string][]portBinding{}
		for _, p := range s.ports {
			spec.ExposedPorts[p] = struct{}{}
			spec.HostConfig.PortBindings[p] = []portBinding{{}}
		}
		// 409: another `testenv up` created it meanwhile; use that one.
		if err := e.create(ctx, name, spec); err != nil && !isStatus(err, http.StatusConflict) {
			return nil, err
		}
	} else if info.State.Status == "paused" {
		return nil, fmt.Errorf("container %s is paused: run 'docker unpause %s' or 'quantx-db testenv down'", name, name)
	}
	if info == nil || !info.State.Running {
		if err := e.start(ctx, name); err != nil {
			return nil, err
		}
	}
	// The published ports appear in the container's description once it runs.
	for tries := 0; ; tries++ {
		info, err = e.inspect(ctx, name)
		if err != nil {
			return nil, err
		}
		if info == nil {
			return nil, fmt.Errorf("container %s disappeared", name)
		}
		missing := ""
		for _, p := range s.ports {
			if info.hostPort(p) == "" {
				missing = p
			}
		}
		if missing == "" {
			return info, nil
		}
		if !info.State.Running || tries == 50 {
			return nil, fmt.Errorf("container %s (%s) publishes no host port for %s: see 'docker logs %s'", name, info.State.Status, missing, name)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// waitReady polls the server until it answers, its container stops, or the
// service's start-up timeout passes.
func waitReady(ctx context.Context, e *engine, s container, host string, info *containerInfo, o Options) error {
	name := containerName(s.name)
	ctx, cancel := context.WithTimeout(ctx, s.ready.timeout)
	defer cancel()
	port := info.hostPort(s.ready.port)
	for {
		err := probe(ctx, s.ready, host, port)
		if err == nil {
			return nil
		}
		o.Logger.DebugContext(ctx, "testenv: not ready yet", "service", s.name, "err", err)
		if ctx.Err() != nil {
			return fmt.Errorf("not ready within %s (%v): see 'docker logs %s'", s.ready.timeout, err, name)
		}
		now, ierr := e.inspect(ctx, name)
		switch {
		case ierr != nil && ctx.Err() == nil:
			return ierr
		case ierr == nil && now == nil:
			return fmt.Errorf("container %s disappeared", name)
		case ierr == nil && !now.State.Running:
			return fmt.Errorf("container %s %s (exit code %d): see 'docker logs %s'", name, now.State.Status, now.State.ExitCode, name)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			continue // the deadline: reported by the next round
		}
	}
}

// probe makes one readiness attempt.
func probe(ctx context.Context, r readiness, host, port string) error {
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second) // the search servers' health waits up to 30 s
	defer cancel()
	if r.path == "" {
		conn, err := pgx.Connect(ctx, postgresURL(host, port))
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return conn.Ping(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+r.path, nil)
	if err != nil {
		return err
	}
	// Its own client: the process-wide default one has no timeout and is shared state.
	resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != r.status {
		return fmt.Errorf("GET %s: %s", r.path, resp.Status)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// dockerDown removes the stack's containers, found by their fixed names, and
// the env file.
func dockerDown(ctx context.Context, o Options) error {
	e, err := dockerEngine(ctx, o)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range containers("") {
		if !contains(o.Services, s.name) {
			continue
		}
		if err := e.remove(ctx, containerName(s.name)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.Remove(envFile(o)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// dockerEngine returns a client of the engine that answered a ping, or an
// error that wraps ErrNoDocker.
func dockerEngine(ctx context.Context, o Options) (*engine, error) {
	e, err := newEngine(o.DockerHost, o.DockerTLS)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	if err := e.ping(ctx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return e, nil
}
