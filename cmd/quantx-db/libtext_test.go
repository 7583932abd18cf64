package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// libraryPackages are the store packages: libraries that return facts and
// typed errors. Flag names, command lines and hints are written in cmd/ only
// (hints.go), so that they cannot disagree with the commands that exist.
var libraryPackages = []string{"stack", "partitions", "retention", "influx", "elastic", "backup"}

var (
	// A quantx-db command line: the program name followed by one of its commands.
	commandLine = regexp.MustCompile(`quantx-db (migrate|partitions|retention|influx|elastic|backup|restore|wal|roles|provision|status|doctor|testenv|completion|version)\b`)
	// A command of ours quoted as advice: 'partitions ensure', ` + "`backup list`" + `.
	quotedCommand = regexp.MustCompile("['`](migrate|partitions|retention|influx|elastic|backup|restore|wal|roles|provision|status|doctor) [a-z]")
	// A flag: --name, not inside a word.
	flag = regexp.MustCompile(`(^|[^\w-])--([a-z][a-z0-9-]*)`)
	// An environment variable of the CLI's configuration.
	envVar = regexp.MustCompile(`\bQUANTX_[A-Z_]+`)
)

// toolOptions are the options of the programs the libraries run (pg_dump,
// pg_restore, pg_dumpall, pg_config, pg_ctl, pg_waldump, pgbackrest): facts
// of how they are called, not words for people.
var toolOptions = map[string]bool{
	"format": true, "snapshot": true, "no-password": true, "dbname": true, "compress": true, "globals-only": true,
	"no-role-passwords": true, "exit-on-error": true, "clean": true, "if-exists": true, "no-owner": true,
	"no-privileges": true, "verbose": true, "jobs": true, "list": true, "bindir": true, "version": true,
	"config": true, "stanza": true, "log-level-file": true, "output": true, "type": true, "start-fast": true,
	"set": true, "repo1-retention-full": true, "pg1-path": true, "target": true, "target-action": true,
	"archive-mode": true, "rmgr": true, "path": true,
}

// allowedText are literals that name a command as a fact of what the
// library writes, by file and a piece of the literal: the comments of the
// files it generates (pgbackrest.conf, the configuration files of a restored
// cluster) say which command wrote them, for a DBA who reads the file without
// quantx-db at hand; the description of an ISM policy names its owner on the
// server.
var allowedText = map[string][]string{
	"backup/pgbackrest_conf.go": {"# Written by 'quantx-db wal setup'", "# 'quantx-db backup prune' expires backups"},
	"backup/pitr.go":            {"# written by quantx-db restore pitr"},
	"elastic/retention.go":      {"quantx-db retention for "},
}

// TestLibrariesWriteNoCommandLineText fails on a string literal in a store
// package's non-test code that names a quantx-db command, quotes one of its
// verbs as advice, or names a flag that is not an option of a program the
// library runs.
func TestLibrariesWriteNoCommandLineText(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	checked := 0
	for _, pkg := range libraryPackages {
		files, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			rel := pkg + "/" + filepath.Base(file)
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				if allowed(rel, s) {
					return true
				}
				var why string
				switch {
				case commandLine.MatchString(s):
					why = "a quantx-db command line"
				case quotedCommand.MatchString(s):
					why = "a quoted command"
				case envVar.MatchString(s):
					why = "the setting " + envVar.FindString(s)
				default:
					for _, m := range flag.FindAllStringSubmatch(s, -1) {
						if !toolOptions[m[2]] {
							why = "the flag --" + m[2]
							break
						}
					}
				}
				if why != "" {
					t.Errorf("%s:%d: %s in %s: write it in cmd/quantx-db/hints.go, and return a fact or a typed error", rel, fset.Position(lit.Pos()).Line, why, lit.Value)
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: wrong directory?", checked)
	}
}

func allowed(file, s string) bool {
	for _, a := range allowedText[file] {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

// TestLibraryTextCheckCatches: the check above finds what it is for.
func TestLibraryTextCheckCatches(t *testing.T) {
	for _, s := range []string{"run 'quantx-db migrate up'", "see 'backup list'", "`partitions ensure` moves them", "set --influx-rpc", "or QUANTX_INFLUX_RPC"} {
		if !commandLine.MatchString(s) && !quotedCommand.MatchString(s) && !slicesHasFlag(s) && !envVar.MatchString(s) {
			t.Errorf("not caught: %q", s)
		}
	}
	for _, s := range []string{"quantx-db's S3 settings", "--format=custom", "pg_dump --version", "x--y"} {
		if commandLine.MatchString(s) || quotedCommand.MatchString(s) || slicesHasFlag(s) || envVar.MatchString(s) {
			t.Errorf("caught, but a fact: %q", s)
		}
	}
}

func slicesHasFlag(s string) bool {
	for _, m := range flag.FindAllStringSubmatch(s, -1) {
		if !toolOptions[m[2]] {
			return true
		}
	}
	return false
}
