// Command authd is the TalentForge authentication service.
//
//	authd [serve]                        serve HTTP (default)
//	authd migrate up|down|status         manage the database schema
//	authd keys rotate                    add a new signing key
//	authd users create --email E [--role R]  create a user; password on stdin
//	authd config                         print the effective configuration
//	authd version                        print the build version
//	authd bench [flags]                  load a running authd and report against the machine's limits
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "authd:", err)
		os.Exit(1)
	}
}

const usage = `usage: authd [command]

commands:
  serve                               serve HTTP (the default)
  migrate up|down|status              apply, roll back one, or list migrations
  keys rotate                         add a signing key (published now, signs after AUTH_KEY_PUBLISH_DELAY)
  users create --email E [--role R]   create a user; the password is read from stdin
  config                              print the effective configuration, secrets masked
  bench [--url U] [flags]             load a running authd; figures next to the machine's limits (bench -h)
  version                             print the version

configuration: AUTH_* environment variables or a .env file (see .env.example)
`

// run is the whole program; main only supplies the process's environment, so
// tests can run authd in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "keys":
		return keys(ctx, args, getenv, stdout)
	case "users":
		return users(ctx, args, getenv, stdin, stdout, stderr)
	case "bench":
		return benchmark(ctx, args, getenv, stdout, stderr)
	case "config":
		cfg, err := loadConfig(getenv)
		if err != nil {
			return err
		}
		return cfg.Print(stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, "authd", version())
		return err
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		io.WriteString(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
