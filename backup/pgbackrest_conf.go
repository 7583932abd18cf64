package backup

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// RepoConfig is where pgBackRest keeps backups and archived WAL: the bucket of the logical backups,
// under <Prefix>pgbackrest/.
type RepoConfig struct {
	Endpoint  string // host:port of the S3 server (pgBackRest speaks TLS only)
	Bucket    string
	Prefix    string // the logical backups' key prefix, e.g. "quantx-db/"
	Region    string // "" is us-east-1
	AccessKey string
	SecretKey string
	CAFile    string // PEM file to trust; "" uses the system's roots
	// CipherPass encrypts the repository (aes-256-cbc). It is fixed when the stanza is created.
	CipherPass string
}

// Path is the repository path in the bucket: "/" + prefix + "pgbackrest".
func (r RepoConfig) Path() string {
	return path.Clean("/" + strings.Trim(r.Prefix, "/") + "/pgbackrest")
}

// ConfigFile is the content of the pgBackRest configuration quantx-db writes.
type ConfigFile struct {
	Repo        RepoConfig
	Stanza      string
	PGData      string // pg1-path
	PGPort      int    // pg1-port
	PGSocketDir string // pg1-socket-path; "" leaves libpq's default
	LogPath     string // "" leaves pgBackRest's default (/var/log/pgbackrest)
	LockPath    string // "" leaves /tmp/pgbackrest
	SpoolPath   string // "" leaves /var/spool/pgbackrest
	// Options are extra [global] options (process-max, compress-type, io-timeout, ...), written as
	// given after quantx-db's own; an option named twice keeps the last value.
	Options map[string]string
}

// retentionOutOfReach is written as repo1-retention-full: pgBackRest runs expire after every backup,
// and quantx-db's keep rules (backup prune) must be the only ones that delete backups.
const retentionOutOfReach = "9999999"

// Render returns the file. The output depends on the values only (options sorted), so rendering the
// same settings twice gives the same bytes: Setup compares them to decide whether anything changed.
func (c ConfigFile) Render() ([]byte, error) {
	host, port, err := net.SplitHostPort(c.Repo.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %q: %w", c.Repo.Endpoint, err)
	}
	region := c.Repo.Region
	if region == "" {
		region = "us-east-1"
	}
	for name, v := range map[string]string{"bucket": c.Repo.Bucket, "access key": c.Repo.AccessKey, "secret key": c.Repo.SecretKey,
		"stanza": c.Stanza, "data directory": c.PGData} {
		if v == "" {
			return nil, fmt.Errorf("pgbackrest configuration: the %s is empty", name)
		}
		if strings.ContainsAny(v, "\n\r") {
			return nil, fmt.Errorf("pgbackrest configuration: the %s contains a line break", name)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by 'quantx-db wal setup' from quantx-db's S3 settings; re-run it after changing\n")
	fmt.Fprintf(&b, "# them (edits here are overwritten). A plain pgBackRest configuration: without quantx-db,\n")
	fmt.Fprintf(&b, "#   pgbackrest --config=THIS_FILE --stanza=%s info|backup|restore ...\n", c.Stanza)
	fmt.Fprintf(&b, "# works as the data directory's owner. It holds the S3 secret: keep it mode 0600.\n")
	b.WriteString("[global]\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, v) }
	kv("repo1-type", "s3")
	kv("repo1-s3-endpoint", host)
	kv("repo1-storage-port", port)
	kv("repo1-s3-bucket", c.Repo.Bucket)
	kv("repo1-s3-region", region)
	kv("repo1-s3-uri-style", "path")
	kv("repo1-s3-key", c.Repo.AccessKey)
	kv("repo1-s3-key-secret", c.Repo.SecretKey)
	kv("repo1-path", c.Repo.Path())
	if c.Repo.CAFile != "" {
		kv("repo1-storage-ca-file", c.Repo.CAFile)
	}
	if c.Repo.CipherPass != "" {
		kv("repo1-cipher-type", "aes-256-cbc")
		kv("repo1-cipher-pass", c.Repo.CipherPass)
	}
	b.WriteString("# Small files bundled into larger objects: a fraction of the S3 requests (time and cost).\n")
	kv("repo1-bundle", "y")
	b.WriteString("# 'quantx-db backup prune' expires backups with its keep rules; this keeps pgBackRest's own\n")
	b.WriteString("# count-based expiry (run after every backup) out of the way.\n")
	kv("repo1-retention-full", retentionOutOfReach)
	if c.LogPath != "" {
		kv("log-path", c.LogPath)
	}
	if c.LockPath != "" {
		kv("lock-path", c.LockPath)
	}
	if c.SpoolPath != "" {
		kv("spool-path", c.SpoolPath)
	}
	keys := make([]string, 0, len(c.Options))
	for k := range c.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.ContainsAny(k+c.Options[k], "\n\r") || k == "" || strings.ContainsAny(k, "=[] ") {
			return nil, fmt.Errorf("pgbackrest option %q: not a KEY=VALUE option", k)
		}
		kv(k, c.Options[k])
	}
	fmt.Fprintf(&b, "\n[%s]\n", c.Stanza)
	kv("pg1-path", c.PGData)
	if c.PGPort != 0 {
		kv("pg1-port", strconv.Itoa(c.PGPort))
	}
	if c.PGSocketDir != "" {
		kv("pg1-socket-path", c.PGSocketDir)
	}
	return b.Bytes(), nil
}

// iniFile is a parsed pgBackRest configuration: section → key → value (the last one wins).
type iniFile map[string]map[string]string

// get returns key from section, else from [global] when section is a stanza.
func (f iniFile) get(section, key string) string {
	if v, ok := f[section][key]; ok {
		return v
	}
	return f["global"][key]
}

// readConfigFile parses a pgBackRest configuration file.
func readConfigFile(name string) (iniFile, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return parseINI(b), nil
}

func parseINI(b []byte) iniFile {
	f := iniFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			if f[section] == nil {
				f[section] = map[string]string{}
			}
			f[section][strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return f
}
