// Package stackenv brings up and tears down a throwaway QuantX server stack
// for a CI job: PostgreSQL, InfluxDB, S3, OpenSearch and Elasticsearch. With
// a reachable Docker engine it starts the official images through the Engine
// API (engine.go); otherwise it runs the local servers of scripts/services
// (embedded in the binary). Both write the same env file of QUANTX_TEST_*
// variables, which internal/testenv and `quantx-db testenv env` read.
package stackenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Providers.
const (
	Auto   = "auto"
	Local  = "local"
	Docker = "docker"
)

// AllServices are the servers of a full stack, in start order.
var AllServices = []string{"postgres", "influxdb", "s3", "opensearch", "elasticsearch"}

// Options configures Up, Down and Env.
type Options struct {
	Provider string    // auto (default), local or docker
	Services []string  // empty means AllServices
	Cache    string    // state folder; "" means $HOME/.cache/quantx-db
	Progress io.Writer // where the servers' start-up output goes (stderr); nil discards
	Env      []string  // extra KEY=VALUE for scripts/services (QUANTX_RUN, QUANTX_PG_PORT, ...)
	Logger   *slog.Logger
	// DockerHost is DOCKER_HOST: unix:///path or tcp://host:port; "" is
	// unix:///var/run/docker.sock. DockerTLS (DOCKER_TLS_VERIFY set) is
	// refused: the engine is reached without TLS.
	DockerHost string
	DockerTLS  bool
}

// ErrNoDocker means the docker provider was asked for but no engine answered.
var ErrNoDocker = errors.New("no Docker engine answers")

func (o Options) withDefaults() (Options, error) {
	if o.Provider == "" {
		o.Provider = Auto
	}
	switch o.Provider {
	case Auto, Local, Docker:
	default:
		return o, fmt.Errorf("provider %q: use auto, local or docker", o.Provider)
	}
	if len(o.Services) == 0 {
		o.Services = AllServices
	}
	for _, s := range o.Services {
		if !contains(AllServices, s) && s != "influxdb2" {
			return o, fmt.Errorf("unknown service %q: use %s", s, strings.Join(AllServices, ", "))
		}
	}
	if o.Cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return o, err
		}
		o.Cache = filepath.Join(home, ".cache", "quantx-db")
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Result says which provider ran and what it wrote.
type Result struct {
	Provider string            `json:"provider"`
	EnvFile  string            `json:"env_file"`
	Env      map[string]string `json:"env"` // QUANTX_TEST_* and PATH additions, as written
}

// Up starts the servers and waits until they answer. It is idempotent.
func Up(ctx context.Context, o Options) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	provider := o.Provider
	var e *engine
	if provider == Auto || provider == Docker {
		var derr error
		e, derr = dockerEngine(ctx, o)
		switch {
		case derr == nil:
			provider = Docker
		case provider == Docker:
			return Result{}, derr
		default:
			provider = Local
			o.Logger.DebugContext(ctx, "testenv: no Docker engine, local servers", "err", derr)
		}
	}
	o.Logger.InfoContext(ctx, "testenv up", "provider", provider, "services", strings.Join(o.Services, ","))
	switch provider {
	case Docker:
		err = dockerUp(ctx, o, e)
	default:
		err = runServices(ctx, o, append([]string{"up"}, o.Services...)...)
	}
	if err != nil {
		return Result{Provider: provider}, err
	}
	env, err := ReadEnv(o)
	return Result{Provider: provider, EnvFile: envFile(o), Env: env}, err
}

// Down stops what Up started, with the provider that started it.
func Down(ctx context.Context, o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	env, _ := ReadEnv(o)
	if env["QUANTX_TESTENV_PROVIDER"] == Docker || o.Provider == Docker {
		return dockerDown(ctx, o)
	}
	return runServices(ctx, o, "down")
}

func envFile(o Options) string { return filepath.Join(o.Cache, "services.env") }

// ReadEnv parses the env file ("export K=V" lines, V optionally single-quoted).
func ReadEnv(o Options) (map[string]string, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(envFile(o))
	if err != nil {
		return nil, fmt.Errorf("no test stack is up (%w): run 'quantx-db testenv up'", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		env[k] = strings.Trim(v, `'"`)
	}
	return env, sc.Err()
}
