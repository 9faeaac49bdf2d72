// Command authd is the TalentForge authentication service.
//
//	authd [serve]                        serve HTTP (default)
//	authd migrate up|down|status         manage the database schema
//	authd keys rotate                    add a new signing key
//	authd users create --email E [--role R]  create a user; password on stdin
//	authd config                         print the effective configuration
//	authd healthcheck                    GET /healthz on AUTH_ADDR; exit 0 on 200
//	authd version                        print the build version
//	authd help [command]                 print the usage of authd or of a command
//	authd bench [flags]                  load a running authd and report against the machine's limits
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], environ(os.Environ()), os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ue *usageError
	if err != nil && !errors.As(err, &ue) { // run reported a usage error
		fmt.Fprintln(os.Stderr, "authd:", err)
	}
	os.Exit(exitCode(err))
}

const usage = `usage: authd [command] [flags]

commands:
  serve                               serve HTTP (the default)
  migrate up|down|status              apply, roll back one (asks, or --yes), or list migrations
  keys rotate                         add a signing key (published within a minute, signs after AUTH_KEY_PUBLISH_DELAY)
  users create --email E [--role R]   create a user; the password is read from stdin
  config                              print the effective configuration, secrets masked
  healthcheck                         GET /healthz on AUTH_ADDR (loopback); exit 0 on 200, 1 otherwise
  bench [--url U] [flags]             load a running authd; figures next to the machine's limits
  version                             print the version
  help [command]                      print the usage of authd or of a command

Every command takes -h for its usage. Exit status: 0 success, 1 failure,
2 a wrong command line (nothing was done).

configuration: AUTH_* environment variables or a .env file (see .env.example);
an AUTH_* variable authd does not read is warned about at start-up
`

// run is the whole program; main only supplies the process's environment, so
// tests can run authd in-process. A usageError (exit status 2) is reported
// on stderr here, with the usage of the command; main reports other errors.
func run(ctx context.Context, args []string, env environment, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, env, stdin, stdout, stderr)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s\n%s", ue.msg, ue.usage)
	}
	return err
}

func dispatch(ctx context.Context, args []string, env environment, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		c := newCmdline("serve", serveUsage)
		if err := c.parse(args, 0, stdout); err != nil {
			return err
		}
		return serve(ctx, env, stderr)
	case "migrate":
		return migrate(ctx, args, env, stdin, stdout, stderr)
	case "keys":
		return keys(ctx, args, env, stdin, stdout, stderr)
	case "users":
		return users(ctx, args, env, stdin, stdout, stderr)
	case "bench":
		return benchmark(ctx, args, env, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, env, stdout)
	case "config":
		c := newCmdline("config", configUsage)
		if err := c.parse(args, 0, stdout); err != nil {
			return err
		}
		cfg, err := loadCommandConfig(ctx, env, stderr)
		if err != nil {
			return err
		}
		return cfg.Print(stdout)
	case "version":
		c := newCmdline("version", versionUsage)
		if err := c.parse(args, 0, stdout); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, "authd", version())
		return err
	case "help":
		c := newCmdline("help", helpUsage)
		if err := c.parse(args, 3, stdout); err != nil {
			return err
		}
		if c.fs.NArg() == 0 {
			_, err := io.WriteString(stdout, usage)
			return err
		}
		// authd help migrate down is authd migrate down -h.
		return dispatch(ctx, append(c.fs.Args(), "-h"), env, stdin, stdout, stderr)
	default:
		if isHelp(cmd) {
			_, err := io.WriteString(stdout, usage)
			return err
		}
		if strings.HasPrefix(cmd, "-") {
			return &usageError{msg: fmt.Sprintf("authd: flag provided but not defined: %s", cmd), usage: usage}
		}
		return &usageError{msg: fmt.Sprintf("authd: unknown command %q", cmd), usage: usage}
	}
}

const (
	serveUsage = `usage: authd serve

Serve HTTP on AUTH_ADDR until SIGTERM or SIGINT. Then /readyz answers 503
at once while serving goes on for AUTH_SHUTDOWN_DELAY (load balancers stop
routing here), and the listener closes and drains in-flight requests for up
to AUTH_SHUTDOWN_TIMEOUT. In embedded mode (no
AUTH_DATABASE_URL) it migrates the SQLite database first. authd with no
command serves. Configuration: AUTH_* variables (authd config prints them).
`
	configUsage = `usage: authd config

Print the effective configuration, one AUTH_*=value a line, secrets masked.
`
	versionUsage = `usage: authd version

Print the build: authd <version> (<commit>).
`
	helpUsage = `usage: authd help [command]

Print the usage of authd, or of a command (as command -h does).
`
)
