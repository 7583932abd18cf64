package stackenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// container is one server image and the env lines that point at it.
type container struct {
	name string
	req  testcontainers.ContainerRequest
	env  func(host string, port func(string) string) []string
}

// containerName is fixed per service, so that Up finds and reuses a running
// stack and Down finds it again from another process.
func containerName(service string) string { return "quantx-db-testenv-" + service }

func containers(secret string) []container {
	search := func(name, image string, env map[string]string, key string) container {
		return container{name: name,
			req: testcontainers.ContainerRequest{Image: image, Env: env, ExposedPorts: []string{"9200/tcp"},
				WaitingFor: wait.ForHTTP("/_cluster/health?wait_for_status=yellow").WithPort("9200/tcp").WithStartupTimeout(3 * time.Minute)},
			env: func(h string, p func(string) string) []string {
				return []string{key + "=http://" + net.JoinHostPort(h, p("9200"))}
			}}
	}
	return []container{
		{name: "postgres",
			req: testcontainers.ContainerRequest{Image: "postgres:15",
				Env:          map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust"},
				Cmd:          []string{"-c", "fsync=off", "-c", "max_connections=200", "-c", "max_locks_per_transaction=256"},
				ExposedPorts: []string{"5432/tcp"},
				WaitingFor:   wait.ForListeningPort("5432/tcp").WithStartupTimeout(2 * time.Minute)},
			env: func(h string, p func(string) string) []string {
				return []string{"QUANTX_TEST_DATABASE_URL=postgres://postgres@" + net.JoinHostPort(h, p("5432")) + "/postgres?sslmode=disable"}
			}},
		{name: "influxdb",
			req: testcontainers.ContainerRequest{Image: "influxdb:1.8",
				Env: map[string]string{"INFLUXDB_HTTP_AUTH_ENABLED": "true", "INFLUXDB_HTTP_FLUX_ENABLED": "true",
					"INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": secret,
					"INFLUXDB_BIND_ADDRESS": ":8088", "INFLUXDB_REPORTING_DISABLED": "true"},
				ExposedPorts: []string{"8086/tcp", "8088/tcp"},
				WaitingFor:   wait.ForHTTP("/ping").WithPort("8086/tcp").WithStatusCodeMatcher(func(s int) bool { return s == http.StatusNoContent })},
			env: func(h string, p func(string) string) []string {
				return []string{"QUANTX_TEST_INFLUX_URL=http://" + net.JoinHostPort(h, p("8086")),
					"QUANTX_TEST_INFLUX_TOKEN=admin:" + secret, "QUANTX_TEST_INFLUX_RPC=" + net.JoinHostPort(h, p("8088"))}
			}},
		{name: "s3",
			req: testcontainers.ContainerRequest{Image: "versity/versitygw:v1.8.0",
				Env:          map[string]string{"ROOT_ACCESS_KEY": "quantxtest", "ROOT_SECRET_KEY": secret},
				Cmd:          []string{"--port", ":7070", "--health", "/health", "--quiet", "posix", "--versioning-dir", "/tmp/versions", "/tmp"},
				ExposedPorts: []string{"7070/tcp"},
				WaitingFor:   wait.ForHTTP("/health").WithPort("7070/tcp")},
			env: func(h string, p func(string) string) []string {
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

// dockerUp starts (or reuses) one container per service and writes the env
// file. The containers outlive this process: a CI job runs `testenv up` in
// one step and the tests in the next.
func dockerUp(ctx context.Context, o Options) error {
	// testcontainers' reaper (Ryuk) removes containers when the creating
	// process exits; the stack must survive until `testenv down`.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	secret := strings.ToLower(rand.Text())
	if old, err := ReadEnv(o); err == nil && old["QUANTX_TESTENV_SECRET"] != "" {
		secret = old["QUANTX_TESTENV_SECRET"] // reused containers keep their passwords
	}
	lines := []string{"# written by quantx-db testenv up (docker); source it",
		"export QUANTX_TESTENV_PROVIDER=docker", "export QUANTX_TESTENV_SECRET=" + secret}
	for _, s := range containers(secret) {
		if !contains(o.Services, s.name) {
			continue
		}
		fmt.Fprintf(o.Progress, "starting %s (%s)\n", s.name, s.req.Image)
		req := s.req
		req.Name = containerName(s.name)
		req.Labels = map[string]string{"quantx-db.testenv": "1"}
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true, Reuse: true})
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		host, err := c.Host(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		var perr error
		port := func(p string) string {
			mp, err := c.MappedPort(ctx, p+"/tcp")
			perr = errors.Join(perr, err)
			return mp.Port()
		}
		for _, l := range s.env(host, port) {
			lines = append(lines, "export "+l)
		}
		if perr != nil {
			return fmt.Errorf("%s: %w", s.name, perr)
		}
	}
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return err
	}
	return os.WriteFile(envFile(o), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// dockerDown removes the stack's containers, found by their fixed names.
func dockerDown(ctx context.Context, o Options) error {
	if err := pingDocker(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	var errs []error
	for _, s := range containers("") {
		if !contains(o.Services, s.name) {
			continue
		}
		req := s.req
		req.Name = containerName(s.name)
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: false, Reuse: true})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			continue
		}
		if err := c.Terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(envFile(o))
}

// pingDocker fails within 2 s when no Docker engine answers: a socket that
// accepts and never replies would hang testcontainers' own provider check.
func pingDocker(ctx context.Context) error {
	sock := "/var/run/docker.sock"
	if h, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		sock = h
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no Docker engine on %s: %w", sock, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker %s answered %s", sock, resp.Status)
	}
	return nil
}
