package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/token"
)

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: authd migrate up|down|status")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "up":
		if err := db.MigrateUp(ctx); err != nil {
			return err
		}
	case "down":
		if err := db.MigrateDown(ctx); err != nil {
			return err
		}
	case "status":
	default:
		return fmt.Errorf("unknown migrate command %q: want up, down or status", args[0])
	}
	return db.MigrationStatus(ctx, stdout)
}

func keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "rotate" {
		return errors.New("usage: authd keys rotate")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openReady(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := token.New(ctx, db, tokenConfig(cfg, newLogger(cfg, io.Discard)))
	if err != nil {
		return err
	}
	k, err := m.Rotate(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new signing key %s (%s): published now, signs from %s\n",
		k.ID, k.Algorithm, k.ActivatesAt.Format(time.RFC3339))
	return err
}

func users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: authd users create --email E [--role R] (password on stdin)")
	}
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email of the new user")
	var roles []string
	fs.Func("role", "role to grant (repeatable; default user)", func(s string) error {
		roles = append(roles, s)
		return nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || fs.NArg() != 0 {
		return errors.New("usage: authd users create --email E [--role R] (password on stdin)")
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openReady(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// No tokens are issued here, so the service needs no issuer.
	hasher, err := newHasher(cfg)
	if err != nil {
		return err
	}
	// Nor a shared cache or limits: a new account has nothing cached, and
	// an operator's command is not rate limited. Its address is verified,
	// so no mail is queued; the composer is what the service requires, and
	// checks the mail settings as serve would.
	composer, err := newComposer(cfg)
	if err != nil {
		return err
	}
	svc := auth.NewService(db, hasher, nil, auth.Config{
		Cache:   cache.New(cache.NewMemory(cache.MemoryOptions{}), cache.Options{}),
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{}),
		Mailer:  composer,
	})
	u, err := svc.CreateUser(ctx, *email, pw, roles)
	if err != nil {
		return errors.New(auth.ErrorMessage(err))
	}
	_, err = fmt.Fprintf(stdout, "created user %s <%s> with roles %s\n", u.ID, u.Email, strings.Join(u.Roles, ","))
	return err
}

// readPassword reads one line from stdin, prompting without echo when stdin
// is a terminal, so the password never appears in argv or shell history.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 8<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
