package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/migrations/lint"
)

func newCompletionCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script of a shell. Besides commands and flags, it
completes backup IDs and "latest" (backup verify, restore postgres, restore
influx: from the configured bucket, of the command's kind), database names
(--database of the backup commands, from the bucket's catalogue;
--influx-database), migration versions (migrate goto, force, baseline, lint
--since), index names (elastic reindex), -o and every flag that takes one of a
few values (README, "Shell completion"). Only the bucket is ever read, and
only when one is configured, for at most ` + completionBudget.String() + `; nothing is printed but
the candidates.`,
		Example: `  source <(quantx-db completion bash)     # this shell; add the line to ~/.bashrc
  quantx-db completion bash > /usr/share/bash-completion/completions/quantx-db   # every user
  quantx-db completion zsh > "${fpath[1]}/_quantx-db"                            # then open a new shell
  quantx-db completion fish > ~/.config/fish/completions/quantx-db.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout() // a static script: not through the redacting stream
			d.rendered = true
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			default:
				return root.GenFishCompletion(out, true)
			}
		},
	}
}

// completionBudget bounds a completion that reads the bucket: the shell waits
// for it, so a hung or unreachable S3 server costs at most this (start-up
// included, the whole completion stays under 2 s), and what is known without
// it (such as "latest") is still offered.
const completionBudget = 1500 * time.Millisecond

// isCompletionRequest reports whether args ask cobra's hidden __complete
// command for candidates (what the shells' scripts run on TAB).
func isCompletionRequest(args []string) bool {
	return len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
}

// filesCompleted are the commands whose arguments are files.
var filesCompleted = map[string]bool{"quantx-db migrate lint": true, "quantx-db retention init": true}

// addCompletions gives every command of the tree its completions: of its
// arguments and of its flags' values. It runs once the tree is built.
func addCompletions(root *cobra.Command, d *deps) {
	c := completer{d: d}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
		if cmd.ValidArgsFunction == nil && len(cmd.ValidArgs) == 0 && !cmd.HasSubCommands() {
			cmd.ValidArgsFunction = c.args(cmd)
		}
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if fn := c.flag(cmd, f); fn != nil {
				_ = cmd.RegisterFlagCompletionFunc(f.Name, fn) // each flag is visited once, where it is defined
			}
		})
	}
	walk(root)
}

// completer holds the completion functions; d gives them the settings.
type completer struct{ d *deps }

// noFiles: what a completion returns; the shell must not offer files instead.
const noFiles = cobra.ShellCompDirectiveNoFileComp

// args is the completion of cmd's arguments.
func (c completer) args(cmd *cobra.Command) cobra.CompletionFunc {
	switch p := cmd.CommandPath(); p {
	case "quantx-db backup verify":
		return c.backupIDs(nil)
	case "quantx-db restore postgres":
		return c.backupIDs([]backup.Kind{backup.KindPostgres})
	case "quantx-db restore influx":
		return c.backupIDs([]backup.Kind{backup.KindInflux})
	case "quantx-db migrate goto":
		return c.versions(true, "-1\trevert every migration")
	case "quantx-db migrate force":
		return c.versions(true, "-1\tno version")
	case "quantx-db migrate baseline":
		return c.versions(true, "")
	case "quantx-db elastic reindex":
		return c.indices
	default:
		if filesCompleted[p] {
			return nil // cobra's default: files
		}
		return cobra.NoFileCompletions
	}
}

// flag is the completion of one flag's value (nil: cobra's default, files).
func (c completer) flag(cmd *cobra.Command, f *pflag.Flag) cobra.CompletionFunc {
	if f.Value.Type() == "bool" {
		return nil // no value to complete: --flag alone
	}
	switch f.Name {
	case "output":
		return formats
	case "log-level":
		return values("debug", "info", "warn\tthe default: results and warnings only", "error")
	case "log-format":
		return values("text", "json\tone JSON object per line, for cron and CI")
	case "elastic-engine":
		return values("auto\tdetect it (the default)", "elasticsearch", "opensearch")
	case "s3-tls":
		return values("true", "false")
	case "kind":
		if cmd.CommandPath() == "quantx-db backup verify" {
			return values(string(backup.KindPostgres), string(backup.KindInflux))
		}
		return values(string(backup.KindPostgres), string(backup.KindInflux), string(backup.KindPhysical))
	case "type":
		return values("full", "diff\tchanges since the last full backup", "incr\tchanges since the last backup")
	case "provider":
		return values("auto", "local\tthe embedded scripts/services", "docker")
	case "only":
		return listValues("postgres", "influx", "elastic")
	case "services":
		return listValues("postgres", "influxdb", "s3", "opensearch", "elasticsearch")
	case "disable":
		return lintRules
	case "since":
		return c.versions(false, "")
	case "influx-database":
		return c.databases(fixedKind(backup.KindInflux), true)
	case "database":
		switch cmd.CommandPath() {
		case "quantx-db influx", "quantx-db backup influx", "quantx-db restore influx":
			return c.databases(fixedKind(backup.KindInflux), true)
		case "quantx-db restore postgres":
			return c.databases(fixedKind(backup.KindPostgres), true)
		case "quantx-db backup verify", "quantx-db backup list", "quantx-db backup info":
			return c.databases(kindFlag, false)
		}
	}
	switch name, _ := pflag.UnquoteUsage(f); name {
	case "FILE", "file", "PATH", "path":
		return nil // cobra's default: files
	case "DIR", "dir", "directory", "NEWDIR":
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
	}
	return cobra.NoFileCompletions // a URL, a duration, a number, a name: nothing to offer
}

// values completes a flag that takes one of vs ("value\tdescription").
func values(vs ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(vs, toComplete), noFiles
	}
}

// listValues completes a comma-separated list of vs: the next item after the
// last comma, not one already given.
func listValues(vs ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		given := strings.Split(done, ",")
		var out []string
		for _, v := range vs {
			if strings.HasPrefix(v, last) && !slices.Contains(given, v) {
				out = append(out, done+v)
			}
		}
		return out, noFiles | cobra.ShellCompDirectiveNoSpace
	}
}

// withPrefix keeps the candidates that start with prefix.
func withPrefix(vs []string, prefix string) []string {
	var out []string
	for _, v := range vs {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// formats completes -o: text and json, and what the command adds (sarif for migrate lint).
func formats(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	vs := []string{"text\ttables (the default)", "json\tone JSON document"}
	for _, f := range extraFormats(cmd) {
		vs = append(vs, string(f))
	}
	return withPrefix(vs, toComplete), noFiles
}

// lintRules completes migrate lint --disable: the rule IDs, comma-separated.
func lintRules(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var ids []string
	for _, r := range lint.Rules() {
		ids = append(ids, r.ID)
	}
	return listValues(ids...)(cmd, args, toComplete)
}

// versions completes a migration version from the migrations of --source, or
// the embedded ones; extra ("" for none) is offered first. As an argument
// (arg), VERSION is the command's only one.
func (c completer) versions(arg bool, extra string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if arg && len(args) > 0 {
			return nil, noFiles
		}
		var src fs.FS = migrations.Files()
		if dir, _ := cmd.Flags().GetString("source"); dir != "" {
			src = os.DirFS(dir)
		}
		ms, err := migrations.Load(src)
		if err != nil {
			return nil, noFiles
		}
		var vs []string
		if extra != "" {
			vs = append(vs, extra)
		}
		for _, m := range ms {
			vs = append(vs, fmt.Sprintf("%d\t%s", m.Version, m.Name))
		}
		return withPrefix(vs, toComplete), noFiles | cobra.ShellCompDirectiveKeepOrder
	}
}

// indices completes elastic reindex INDEX: the logical indices of --defs, or
// the built-in definitions.
func (c completer) indices(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	src := elastic.DefaultDefs()
	if dir, _ := cmd.Flags().GetString("defs"); dir != "" {
		src = os.DirFS(dir)
	}
	defs, err := elastic.LoadDefs(src, "")
	if err != nil {
		return nil, noFiles
	}
	var vs []string
	for _, x := range defs.Indices {
		what := "copied into a new version"
		if x.TimeBased {
			what = "time-based: its write alias moves"
		}
		vs = append(vs, x.Name+"\t"+what)
	}
	return withPrefix(vs, toComplete), noFiles
}

// catalogue opens the configured bucket's catalogue within ctx. configured is
// false when no bucket is configured (then nothing at all is contacted) or
// the settings are bad; the catalogue is nil also when the bucket does not
// answer. Nothing is printed: the shell shows whatever a completion writes.
func (c completer) catalogue(ctx context.Context, cmd *cobra.Command) (cat *backup.Catalogue, configured bool) {
	cfg, err := c.settings(cmd)
	if err != nil || cfg.S3Endpoint == "" || cfg.S3Bucket == "" {
		return nil, false
	}
	st, err := c.d.openS3(ctx, "", "")
	if err != nil {
		return nil, true
	}
	return backup.New(st, backup.Options{Logger: c.d.logger, Now: c.d.now}), true
}

// settings resolves the settings from the completed command line's flags
// (the root's PersistentPreRunE, which does that for a run, does not run for
// __complete), the environment and the config file. It reads no store.
func (c completer) settings(cmd *cobra.Command) (config.Config, error) {
	if c.d.flags == nil {
		c.d.flags = cmd.Flags()
	}
	return c.d.config()
}

// backupIDs completes a backup ID argument: "latest" and the IDs of the
// bucket's backups of kinds (nil: the logical kinds, postgres and influx, as
// backup verify takes), newest first.
func (c completer) backupIDs(kinds []backup.Kind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionBudget)
		defer cancel()
		cat, configured := c.catalogue(ctx, cmd)
		if !configured {
			return nil, noFiles // no bucket: no backup to name, and nothing contacted
		}
		kind := kinds
		if kind == nil {
			kind = []backup.Kind{backup.KindPostgres, backup.KindInflux}
		}
		latestKind := kind[0]
		if fl := cmd.Flags().Lookup("kind"); fl != nil {
			latestKind = backup.Kind(fl.Value.String())
		}
		out := []string{"latest\tthe newest " + string(latestKind) + " backup of " + c.latestDatabase(cmd, latestKind)}
		// With --kind or --database an ID is refused (they select what latest stands for).
		for _, name := range []string{"kind", "database"} {
			if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
				return withPrefix(out, toComplete), noFiles
			}
		}
		if cat != nil {
			entries, _ := cat.Entries(ctx) // nil on a timeout: latest alone is what is known
			for _, e := range entries {
				if slices.Contains(kind, e.Kind) {
					out = append(out, fmt.Sprintf("%s\t%s %s, %s", e.ID, e.Kind, e.DatabaseInID, e.StartedAt.Format("2006-01-02 15:04 UTC")))
				}
			}
		}
		return withPrefix(out, toComplete), noFiles | cobra.ShellCompDirectiveKeepOrder
	}
}

// latestDatabase names the database "latest" stands for, for its description.
func (c completer) latestDatabase(cmd *cobra.Command, kind backup.Kind) string {
	if db, _ := cmd.Flags().GetString("database"); db != "" {
		return db
	}
	if db, err := c.d.configuredDatabase(kind, ""); err == nil && db != "" {
		return db
	}
	return "--database"
}

// kindOf says which kind of backup a --database completion is for.
type kindOf func(cmd *cobra.Command) backup.Kind

func fixedKind(k backup.Kind) kindOf { return func(*cobra.Command) backup.Kind { return k } }

// kindFlag is the kind of --kind ("" for any).
func kindFlag(cmd *cobra.Command) backup.Kind {
	if fl := cmd.Flags().Lookup("kind"); fl != nil {
		return backup.Kind(fl.Value.String())
	}
	return ""
}

// databases completes a database name: the names the bucket's catalogue has
// backups of (of the kind; for physical sets, the stanza) and, where the
// command names one database of a fixed kind, the one it means by default
// (the database of --database-url; for InfluxDB the one 'influx setup'
// creates).
func (c completer) databases(kindFor kindOf, withDefault bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(cmd.Context(), completionBudget)
		defer cancel()
		cfg, err := c.settings(cmd)
		if err != nil {
			return nil, noFiles
		}
		kind := kindFor(cmd)
		var names []string
		add := func(n string) {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if kind == backup.KindPhysical {
			add(cfg.Stanza)
			return withPrefix(names, toComplete), noFiles
		}
		if withDefault {
			if db, err := c.d.configuredDatabase(kind, ""); err == nil {
				add(db)
			}
		}
		if cat, _ := c.catalogue(ctx, cmd); cat != nil {
			if entries, err := cat.Entries(ctx); err == nil {
				found, _ := cat.DatabaseNames(ctx, entries, kind) // those read in time
				for _, n := range found {
					add(n)
				}
			}
		}
		slices.Sort(names)
		return withPrefix(names, toComplete), noFiles
	}
}

// helpTopics completes 'help COMMAND...': the subcommands of the words given.
func helpTopics(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cmd, rest, err := c.Root().Find(args)
	if err != nil || len(rest) > 0 {
		return nil, noFiles
	}
	var out []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
			out = append(out, sub.Name()+"\t"+sub.Short)
		}
	}
	return out, noFiles
}
