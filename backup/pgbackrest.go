package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// PgBackRestError is pgbackrest exiting non-zero: its exit code (pgBackRest's error code, e.g. 29 for
// a bad option, 55 for a missing file) and its ERROR line.
type PgBackRestError struct {
	Command string // "backup", "restore", ...
	Code    int
	Message string // the ERROR line(s), or the stderr tail
	Err     error
}

func (e *PgBackRestError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("pgbackrest %s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("pgbackrest %s: %s", e.Command, e.Message)
}

// Unwrap returns the exec error.
func (e *PgBackRestError) Unwrap() error { return e.Err }

// errorLine matches the first line of a pgBackRest error, on stderr ("ERROR: [055]: unable to
// open ...") or in a log file ("2026-11-30 09:30:41.532 P00  ERROR: [103]: ...").
var errorLine = regexp.MustCompile(`^(?:\S+ \S+ P\d+ +)?(ERROR: \[\d+\]: .*)$`)

// pgbackrestErrors returns pgBackRest's error messages in text, each with its indented
// continuation lines joined into one line, separated by "; ".
func pgbackrestErrors(text string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if m := errorLine.FindStringSubmatch(strings.TrimRight(line, " ")); m != nil {
			if cur != "" {
				out = append(out, cur)
			}
			cur = m[1]
			continue
		}
		if cur != "" && strings.HasPrefix(line, " ") && strings.TrimSpace(line) != "" {
			// Continuation lines carry the cause; pgBackRest's generic HINT lines are left out.
			if l := strings.TrimSpace(line); !strings.HasPrefix(l, "HINT:") && len(cur) < 400 {
				cur += " " + l
			}
			continue
		}
		if cur != "" {
			out = append(out, cur)
			cur = ""
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// run runs `pgbackrest --config=F --stanza=S ARGS...` and returns its stdout. Console logging is
// left at pgBackRest's default (warn): warnings are logged, errors end up in the returned error.
func (p *Physical) run(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := p.bin()
	if err != nil {
		return nil, err
	}
	full := append([]string{"--config=" + p.o.ConfigFile, "--stanza=" + p.o.Stanza}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	// pgBackRest runs in its own process group with its worker processes (process-max). When ctx
	// ends (Ctrl-C, or a restore stopped because its target is out of reach) the whole group gets
	// SIGTERM, which pgBackRest handles (releases its locks, says "terminated on signal"), and time
	// to act on it before the kill; then we wait until no worker is left writing.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var out bytes.Buffer
	tail := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &out, tail
	// pgBackRest reads PGBACKREST_* variables as options: never let the caller's environment change
	// what the configuration file says.
	cmd.Env = cleanEnv(os.Environ())
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil && cmd.Process != nil {
		for i := 0; i < 300 && syscall.Kill(-cmd.Process.Pid, 0) == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	command := pgbackrestCommand(args)
	p.log.DebugContext(ctx, "pgbackrest", "command", command, "duration", time.Since(start).Round(time.Millisecond), "error", err)
	for _, line := range strings.Split(tail.String(), "\n") {
		if strings.Contains(line, "WARN:") {
			p.log.WarnContext(ctx, "pgbackrest", "command", command, "message", strings.TrimSpace(line))
		}
	}
	if err != nil {
		msg := strings.Join(pgbackrestErrors(tail.String()), "; ")
		if msg == "" {
			msg = strings.TrimSpace(tail.String())
		}
		code := -1
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return out.Bytes(), &PgBackRestError{Command: command, Code: code, Message: msg, Err: err}
	}
	return out.Bytes(), nil
}

func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PGBACKREST_") {
			out = append(out, kv)
		}
	}
	return out
}

// pgbackrestCommand is the first argument that is not an option.
func pgbackrestCommand(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return "?"
}

// stanzaInfo is one element of `pgbackrest info --output=json`.
type stanzaInfo struct {
	Name   string `json:"name"`
	Cipher string `json:"cipher"`
	Status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	DB []struct {
		ID       int    `json:"id"`
		SystemID uint64 `json:"system-id"`
		Version  string `json:"version"`
	} `json:"db"`
	Archive []struct {
		Database struct {
			ID int `json:"id"`
		} `json:"database"`
		ID  string `json:"id"`
		Min string `json:"min"`
		Max string `json:"max"`
	} `json:"archive"`
	Backup []backupSet `json:"backup"`
}

// backupSet is one backup in `pgbackrest info --output=json`.
type backupSet struct {
	Label     string   `json:"label"`
	Type      string   `json:"type"`
	Prior     *string  `json:"prior"`
	Reference []string `json:"reference"`
	Error     bool     `json:"error"`
	Archive   struct {
		Start string `json:"start"`
		Stop  string `json:"stop"`
	} `json:"archive"`
	Backrest struct {
		Version string `json:"version"`
	} `json:"backrest"`
	Database struct {
		ID int `json:"id"`
	} `json:"database"`
	Info struct {
		Size       int64 `json:"size"`
		Delta      int64 `json:"delta"`
		Repository struct {
			Size  int64 `json:"size"`
			Delta int64 `json:"delta"`
		} `json:"repository"`
	} `json:"info"`
	LSN struct {
		Start string `json:"start"`
		Stop  string `json:"stop"`
	} `json:"lsn"`
	Timestamp struct {
		Start int64 `json:"start"`
		Stop  int64 `json:"stop"`
	} `json:"timestamp"`
}

// pgBackRest's info status codes (doc: "info" command, "Stanza Status").
const (
	infoOK             = 0
	infoMissingStanza  = 1
	infoNoBackup       = 2
	infoMissingData    = 3
	infoBackupRunning  = 6
	infoCipherMismatch = 4
)

// info runs `pgbackrest info --output=json` for the stanza.
func (p *Physical) info(ctx context.Context) (stanzaInfo, error) {
	out, err := p.run(ctx, "--log-level-file=off", "--output=json", "info")
	if err != nil {
		return stanzaInfo{}, err
	}
	return parseInfo(out, p.o.Stanza)
}

func parseInfo(out []byte, stanza string) (stanzaInfo, error) {
	var all []stanzaInfo
	if err := json.Unmarshal(out, &all); err != nil {
		return stanzaInfo{}, fmt.Errorf("pgbackrest info: unreadable JSON: %w", err)
	}
	for _, s := range all {
		if s.Name == stanza {
			return s, nil
		}
	}
	return stanzaInfo{}, fmt.Errorf("pgbackrest info: stanza %s not in the output", stanza)
}

// usable reports whether the stanza exists and its repository is readable (pgBackRest's status 0, 2
// or 6), and otherwise why not.
func (s stanzaInfo) usable() error {
	switch s.Status.Code {
	case infoOK, infoNoBackup, infoBackupRunning:
		return nil
	}
	return fmt.Errorf("pgbackrest stanza %s: %s (status %d)", s.Name, s.Status.Message, s.Status.Code)
}

// currentDB is the id of the newest database history entry (a stanza-upgrade adds one).
func (s stanzaInfo) currentDB() int {
	id := 0
	for _, d := range s.DB {
		id = max(id, d.ID)
	}
	return id
}

// sets returns the backups of the current database history, oldest first, without failed ones.
func (s stanzaInfo) sets() []backupSet {
	cur := s.currentDB()
	out := []backupSet{}
	for _, b := range s.Backup {
		if b.Database.ID == cur && !b.Error {
			out = append(out, b)
		}
	}
	return out
}

// archiveRange returns the oldest and newest archived segment of the current database history.
func (s stanzaInfo) archiveRange() (min, max string) {
	cur := s.currentDB()
	for _, a := range s.Archive {
		if a.Database.ID == cur {
			return a.Min, a.Max
		}
	}
	return "", ""
}

func (s stanzaInfo) dbVersion() string {
	cur := s.currentDB()
	for _, d := range s.DB {
		if d.ID == cur {
			return d.Version
		}
	}
	return ""
}

// manifest describes a backup set the way the catalogue lists backups.
func (s stanzaInfo) manifest(b backupSet, repoPath string) Manifest {
	m := Manifest{
		FormatVersion: manifestFormat, ID: b.Label, Kind: KindPhysical, Database: s.Name,
		ServerVersion: s.dbVersion(), ToolVersion: "pgBackRest " + b.Backrest.Version,
		StartedAt: time.Unix(b.Timestamp.Start, 0).UTC(), FinishedAt: time.Unix(b.Timestamp.Stop, 0).UTC(),
		Format: "pgbackrest", Size: b.Info.Repository.Delta, Encryption: s.Cipher,
		Recipients: []string{}, Objects: []Object{},
		Physical: &PhysicalSet{Type: b.Type, Stanza: s.Name, WALStart: b.Archive.Start, WALStop: b.Archive.Stop,
			LSNStart: b.LSN.Start, LSNStop: b.LSN.Stop, Reference: b.Reference, DatabaseSize: b.Info.Size,
			RepoPath: strings.TrimSuffix(repoPath, "/") + "/backup/" + s.Name + "/" + b.Label},
	}
	if b.Prior != nil {
		m.Physical.Prior = *b.Prior
	}
	if m.Physical.Reference == nil {
		m.Physical.Reference = []string{}
	}
	if m.Encryption == "" {
		m.Encryption = encNone
	}
	return m
}

// List returns the physical backups of the stanza, newest first, as catalogue manifests (kind
// physical, with their WAL range).
func (p *Physical) List(ctx context.Context) ([]Manifest, error) {
	si, err := p.info(ctx)
	if err != nil {
		return nil, err
	}
	if err := si.usable(); err != nil {
		return nil, err
	}
	repoPath := p.repoPath()
	out := []Manifest{}
	for _, b := range si.sets() {
		out = append(out, si.manifest(b, repoPath))
	}
	sortNewestFirst(out)
	return out, nil
}

// repoPath is repo1-path from the configuration file ("" when unreadable: the path is informational).
func (p *Physical) repoPath() string {
	c, err := readConfigFile(p.o.ConfigFile)
	if err != nil {
		return ""
	}
	return c.get("global", "repo1-path")
}

// SortNewestFirst orders manifests of any kinds newest first (by start time, then ID), as List does.
func SortNewestFirst(ms []Manifest) { sortNewestFirst(ms) }

// DataDir returns pg1-path of the stanza from the configuration file.
func (p *Physical) DataDir() (string, error) {
	c, err := readConfigFile(p.o.ConfigFile)
	if err != nil {
		return "", err
	}
	dir := c.get(p.o.Stanza, "pg1-path")
	if dir == "" {
		return "", fmt.Errorf("%s names no pg1-path for stanza %s: %w", p.o.ConfigFile, p.o.Stanza, ErrNoConfig)
	}
	return dir, nil
}
