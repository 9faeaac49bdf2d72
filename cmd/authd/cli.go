package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/talentforge/authd/internal/config"
)

// Exit statuses, as Go's own tools use them.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line is wrong; nothing ran
)

// usageError is a wrong command line: an unknown command, flag or argument.
// run reports it on stderr, in one line followed by the usage of the
// command, and main exits with status 2.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

// errHelpShown is returned by a command that printed its usage because -h
// or --help asked for it: run turns it into success.
var errHelpShown = errors.New("help shown")

// exitCode is the exit status of a run that returned err.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	default:
		return exitFailure
	}
}

// cmdline is the command line of one (sub)command: its flags, and the text
// its usage starts with.
type cmdline struct {
	fs   *flag.FlagSet
	text string // "usage: authd …" and what the command does
}

// newCmdline returns the command line of name (e.g. "migrate down"), whose
// usage starts with text. Define its flags on c.fs, then call c.parse.
func newCmdline(name, text string) *cmdline {
	fs := flag.NewFlagSet("authd "+name, flag.ContinueOnError)
	// Errors and usage are printed by run and parse, where they belong.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &cmdline{fs: fs, text: text}
}

// usage is the command's usage: text, then its flags if it has any.
func (c *cmdline) usage() string {
	var b strings.Builder
	b.WriteString(c.text)
	hasFlags := false
	c.fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		b.WriteString("\nflags:\n")
		c.fs.SetOutput(&b)
		c.fs.PrintDefaults()
		c.fs.SetOutput(io.Discard)
	}
	return b.String()
}

// parse parses args. -h or --help prints the usage on stdout and returns
// errHelpShown; a flag that is not defined, or any argument left when
// maxArgs is 0, is a usageError.
func (c *cmdline) parse(args []string, maxArgs int, stdout io.Writer) error {
	err := c.fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		if _, err := io.WriteString(stdout, c.usage()); err != nil {
			return err
		}
		return errHelpShown
	}
	if err != nil {
		return c.fail("%v", err)
	}
	if c.fs.NArg() > maxArgs {
		return c.fail("unexpected argument %q", c.fs.Arg(maxArgs))
	}
	return nil
}

// fail returns a usageError with the command's usage.
func (c *cmdline) fail(format string, args ...any) error {
	return &usageError{msg: c.fs.Name() + ": " + fmt.Sprintf(format, args...), usage: c.usage()}
}

// isHelp reports whether arg asks for help, as the flag package reads it.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

// group runs the subcommand args[0] of a command made of subcommands
// (migrate, keys, users): no subcommand or an unknown one is a usageError,
// -h or --help prints c's usage.
func group(c *cmdline, args []string, stdout io.Writer, subs map[string]func(args []string) error) error {
	if len(args) == 0 {
		return c.fail("missing command")
	}
	if isHelp(args[0]) {
		if _, err := io.WriteString(stdout, c.usage()); err != nil {
			return err
		}
		return errHelpShown
	}
	sub, ok := subs[args[0]]
	if !ok {
		if strings.HasPrefix(args[0], "-") {
			return c.fail("flag provided but not defined: %s", args[0])
		}
		return c.fail("unknown command %q", args[0])
	}
	return sub(args[1:])
}

// environment is the set of variables run reads its configuration from:
// the process's (os.Environ) in main, a test's own in tests. Commands need
// the whole set, not only lookups, to warn of AUTH_* names authd doesn't
// read.
type environment map[string]string

// environ parses "KEY=value" entries, as os.Environ returns them.
func environ(entries []string) environment {
	e := make(environment, len(entries))
	for _, kv := range entries {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e[k] = v
		}
	}
	return e
}

func (e environment) getenv(name string) string { return e[name] }

// entries is e in os.Environ's form.
func (e environment) entries() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// loadCommandConfig is loadConfig for a command: it also logs, as
// warnings to logOut, the AUTH_* variables of the environment and the .env
// file that authd does not read, with the name that was probably meant.
func loadCommandConfig(ctx context.Context, env environment, logOut io.Writer) (*config.Config, error) {
	cfg, err := loadConfig(env.getenv)
	if err != nil {
		return nil, err
	}
	if unknown := cfg.UnknownVars(env.entries()); len(unknown) > 0 {
		log := newLogger(cfg, logOut)
		for _, u := range unknown {
			msg := "unknown variable " + u.Name + " ignored"
			if u.Suggestion != "" {
				msg += "; did you mean " + u.Suggestion + "?"
			}
			log.Warn(msg, "variable", u.Name, "source", u.Source, "suggestion", u.Suggestion)
		}
	}
	return cfg, nil
}
