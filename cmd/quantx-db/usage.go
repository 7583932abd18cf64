package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/output"
)

// strictCommands makes the whole tree strict about what a user typed, so that
// a typo in a cron line or a CI step fails instead of printing help with exit
// 0. It runs once on the finished tree, so a command added later gets the same
// rules without doing anything:
//   - a parent command (one with subcommands) takes no arguments: a word that
//     is not one of its subcommands is a usage error (exit 2) with cobra's
//     "did you mean" suggestion, and the parent alone is a usage error that
//     lists its subcommands;
//   - a leaf command that declares no Args and whose Use line names no
//     argument takes none (cobra's default would silently ignore stray words).
func strictCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictCommands(sub)
	}
	if !c.HasSubCommands() {
		if c.Args == nil && len(strings.Fields(c.Use)) == 1 {
			c.Args = noArgs // its Use line names no argument: it takes none
		}
		return
	}
	c.Args = subcommandArgs
	c.Run, c.RunE = nil, missingSubcommand
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra applies its default only on the root
	}
	// A parent is runnable only to report the missing subcommand: its usage
	// shows "quantx-db migrate [command]", not a bare "quantx-db migrate".
	c.SetUsageTemplate(strings.Replace(c.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
}

// subcommandArgs rejects any word after a parent command: it is a mistyped or
// unknown subcommand.
func subcommandArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return unknownSubcommand(c, args[0])
}

func unknownSubcommand(c *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown command %q for %q", word, c.CommandPath())
	if s := c.SuggestionsFor(word); len(s) > 0 {
		quoted := make([]string, len(s))
		for i, name := range s {
			quoted[i] = strconv.Quote(name)
		}
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(quoted, " or "))
	}
	return usagef(subcommandHint(c), "%s", msg)
}

// missingSubcommand is the RunE of every parent command.
func missingSubcommand(c *cobra.Command, _ []string) error {
	return usagef(subcommandHint(c), "%s needs a command", c.CommandPath())
}

func subcommandHint(c *cobra.Command) string {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return fmt.Sprintf("one of: %s (see '%s --help')", strings.Join(names, ", "), c.CommandPath())
}

// noArgs is the Args of a leaf command that declares none.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("see '"+c.CommandPath()+" --help'", "%s takes no arguments, got %q", c.CommandPath(), args[0])
	}
	return nil
}

// newHelpCmd replaces cobra's help command, which prints "Unknown help topic"
// and exits 0 for a mistyped topic.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "Help about any command",
		Example: "  quantx-db help migrate up",
		Args:    cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil {
				return usageErr(err, "see 'quantx-db --help'")
			}
			if len(rest) > 0 {
				return unknownSubcommand(target, rest[0])
			}
			return target.Help()
		},
	}
}

// flagError makes every flag parsing error a usage error, with the closest
// flag name when one was mistyped.
func flagError(c *cobra.Command, err error) error {
	hint := "see '" + c.CommandPath() + " --help'"
	if ne, ok := errors.AsType[*pflag.NotExistError](err); ok && ne.GetSpecifiedName() != "" {
		var names []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if s := config.Suggest(ne.GetSpecifiedName(), names); s != "" {
			return usagef(hint, "%s (did you mean --%s?)", err, s)
		}
	}
	return usageErr(err, hint)
}

// formatFromArgs finds -o/--output in the raw arguments, for an error that
// happened before the flags were parsed (an unknown command or flag): with
// -o json, CI must still get the JSON error document.
func formatFromArgs(args []string) output.Format {
	f := output.FormatText
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		var v string
		switch {
		case a == "-o" || a == "--output":
			if i+1 < len(args) {
				v = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--output="):
			v = strings.TrimPrefix(a, "--output=")
		case strings.HasPrefix(a, "-o"):
			v = strings.TrimPrefix(strings.TrimPrefix(a, "-o"), "=")
		default:
			continue
		}
		if pf, err := output.ParseFormat(v); err == nil {
			f = pf
		}
	}
	return f
}

// learnFlagSecrets registers the credentials given on the command line with
// the redactor: the password of every *-url flag (--database-url,
// --target-database-url, ...), and the whole value of every flag named for a
// token, secret or password, or the content of its *-file twin. Config
// settings are also registered by deps.config; this covers the flags outside
// config, and a value that config could not resolve.
func (d *deps) learnFlagSecrets(fs *pflag.FlagSet) {
	if fs == nil {
		return
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		name, v := f.Name, f.Value.String()
		secretish := strings.Contains(name, "token") || strings.Contains(name, "secret") || strings.Contains(name, "password")
		switch {
		case strings.HasSuffix(name, "-file") && (secretish || strings.Contains(name, "url")):
			b, err := os.ReadFile(v)
			if err != nil || len(b) > 64<<10 {
				return
			}
			val := strings.TrimRight(string(b), "\r\n")
			d.redactor.Add(config.ConnectionSecrets(val)...)
			if secretish {
				d.redactor.Add(config.TokenSecrets(val)...)
			}
		case strings.Contains(name, "url"):
			d.redactor.Add(config.ConnectionSecrets(v)...)
		case secretish:
			d.redactor.Add(config.TokenSecrets(v)...)
		}
	})
}
