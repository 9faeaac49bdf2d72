package main

import (
	"bufio"
	"context"
	"errors"
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

const (
	migrateUsage = `usage: authd migrate up|down|status

  up       apply every pending migration (production runs it as a deploy step)
  down     roll back the latest applied migration: asks on a terminal, else needs --yes
  status   list the migrations, applied and pending

Each prints the status afterwards. authd migrate <command> -h for its flags.
`
	migrateUpUsage = `usage: authd migrate up

Apply every pending migration to the configured database, then list them.
`
	migrateDownUsage = `usage: authd migrate down [--yes]

Roll back the latest applied migration of the configured database, then
list the migrations. It asks for confirmation when standard input is a
terminal; otherwise --yes is required (exit status 2 without it, nothing
rolled back).
`
	migrateStatusUsage = `usage: authd migrate status

List the migrations of the configured database, applied and pending.
`
	keysUsage = `usage: authd keys rotate [--now] | revoke --kid KID [--yes]

  rotate   add a signing key (authd keys rotate -h)
  revoke   withdraw a leaked signing key (authd keys revoke -h)
`
	keysRotateUsage = `usage: authd keys rotate [--now]

Add a signing key of AUTH_SIGNING_ALG to the database. The running servers
load it within their key reload interval (1m) and publish it in their JWKS;
it signs tokens from AUTH_KEY_PUBLISH_DELAY after its creation (at once if
no key was signing), so that verifiers have fetched it by then.

  --now   sign with it at once, for an emergency (a leaked key): verifiers
          that cached the JWKS refuse its tokens until they fetch it again
`
	keysRevokeUsage = `usage: authd keys revoke --kid KID [--yes]

Withdraw the signing key KID (a flag, not an argument: key ids may begin
with a dash) before its time, for a key that leaked: it is
deleted, so the running servers stop publishing it and refuse every token
it signed within their key reload interval (1m); their holders refresh and
get tokens of the new key. The key that signs now can't be revoked: run
authd keys rotate --now first. It asks for confirmation when standard input
is a terminal; otherwise --yes is required.
`
	usersUsage = `usage: authd users create --email E [--role R]...

  create   create a user (authd users create -h)
`
	usersCreateUsage = `usage: authd users create --email E [--role R]...

Create a user with a verified email. The password is read from standard
input: prompted without echo on a terminal, else its first line.
`
)

func migrate(ctx context.Context, args []string, env environment, stdin io.Reader, stdout, stderr io.Writer) error {
	sub := func(name, text string, args []string, do func(context.Context, database) error, yes *bool) error {
		c := newCmdline("migrate "+name, text)
		if yes != nil {
			c.fs.BoolVar(yes, "yes", false, "roll back without asking")
		}
		if err := c.parse(args, 0, stdout); err != nil {
			return err
		}
		terminal := isTerminal(stdin)
		if yes != nil && !*yes && !terminal {
			return c.fail("rolls back the latest migration: pass --yes to confirm (standard input is not a terminal); nothing was rolled back")
		}
		cfg, err := loadCommandConfig(ctx, env, stderr)
		if err != nil {
			return err
		}
		if yes != nil && !*yes {
			where := "the SQLite database in " + cfg.DataDir
			if !cfg.Embedded() {
				where = "the PostgreSQL database of AUTH_DATABASE_URL"
			}
			ok, err := confirm(stdin, stderr, "Roll back the latest migration of "+where+"?")
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("migrate down: not confirmed; nothing was rolled back")
			}
		}
		db, err := openDatabase(ctx, cfg, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		if do != nil {
			if err := do(ctx, db); err != nil {
				return err
			}
		}
		return db.MigrationStatus(ctx, stdout)
	}
	var yes bool
	return group(newCmdline("migrate", migrateUsage), args, stdout, map[string]func([]string) error{
		"up": func(args []string) error {
			return sub("up", migrateUpUsage, args, func(ctx context.Context, db database) error { return db.MigrateUp(ctx) }, nil)
		},
		"down": func(args []string) error {
			return sub("down", migrateDownUsage, args, func(ctx context.Context, db database) error { return db.MigrateDown(ctx) }, &yes)
		},
		"status": func(args []string) error {
			return sub("status", migrateStatusUsage, args, nil, nil)
		},
	})
}

// isTerminal reports whether stdin is a terminal.
func isTerminal(stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks question on stderr and reports whether the answer read from
// stdin is y or yes.
func confirm(stdin io.Reader, stderr io.Writer, question string) (bool, error) {
	fmt.Fprint(stderr, question+" [y/N] ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func keys(ctx context.Context, args []string, env environment, stdin io.Reader, stdout, stderr io.Writer) error {
	return group(newCmdline("keys", keysUsage), args, stdout, map[string]func([]string) error{
		"rotate": func(args []string) error {
			c := newCmdline("keys rotate", keysRotateUsage)
			now := c.fs.Bool("now", false, "sign with the new key at once")
			if err := c.parse(args, 0, stdout); err != nil {
				return err
			}
			return rotate(ctx, env, *now, stdout, stderr)
		},
		"revoke": func(args []string) error {
			c := newCmdline("keys revoke", keysRevokeUsage)
			yes := c.fs.Bool("yes", false, "revoke without asking")
			kid := c.fs.String("kid", "", "the key's id: the kid of its tokens' header, or of the JWKS")
			if err := c.parse(args, 0, stdout); err != nil {
				return err
			}
			if *kid == "" {
				return c.fail("--kid is required: the kid of the key's tokens' header, or of the JWKS")
			}
			if !*yes && !isTerminal(stdin) {
				return c.fail("withdraws a signing key: pass --yes to confirm (standard input is not a terminal); nothing was revoked")
			}
			return revoke(ctx, env, *kid, *yes, stdin, stdout, stderr)
		},
	})
}

// keyManager opens the database and a token manager over it, as the
// servers configure theirs.
func keyManager(ctx context.Context, env environment, stderr io.Writer) (*token.Manager, token.Config, func(), error) {
	cfg, err := loadCommandConfig(ctx, env, stderr)
	if err != nil {
		return nil, token.Config{}, nil, err
	}
	db, err := openReady(ctx, cfg, nil)
	if err != nil {
		return nil, token.Config{}, nil, err
	}
	tc := tokenConfig(cfg, newLogger(cfg, io.Discard))
	m, err := token.New(ctx, db, tc)
	if err != nil {
		db.Close()
		return nil, token.Config{}, nil, err
	}
	// The servers' reload interval is token's default: serve does not
	// configure it.
	if tc.ReloadInterval <= 0 {
		tc.ReloadInterval = token.DefaultReloadInterval
	}
	return m, tc, func() { db.Close() }, nil
}

func revoke(ctx context.Context, env environment, kid string, yes bool, stdin io.Reader, stdout, stderr io.Writer) error {
	m, tc, closeDB, err := keyManager(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if !yes {
		ok, err := confirm(stdin, stderr, "Revoke signing key "+kid+"? Every token it signed stops working within "+shortDuration(tc.ReloadInterval)+".")
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("keys revoke: not confirmed; nothing was revoked")
		}
	}
	if err := m.Revoke(ctx, kid); err != nil {
		return fmt.Errorf("keys revoke %s: %w", kid, err)
	}
	_, err = fmt.Fprintf(stdout, "key %s revoked; the running servers stop publishing it and refuse its tokens within %s (their key reload interval)\n",
		kid, shortDuration(tc.ReloadInterval))
	return err
}

func rotate(ctx context.Context, env environment, now bool, stdout, stderr io.Writer) error {
	m, tc, closeDB, err := keyManager(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	rotateKey := m.Rotate
	if now {
		rotateKey = m.RotateNow
	}
	k, err := rotateKey(ctx)
	if err != nil {
		return err
	}
	reload := tc.ReloadInterval
	if now || !k.ActivatesAt.After(k.CreatedAt) {
		why := "no key was signing"
		if now {
			why = "--now"
		}
		_, err = fmt.Fprintf(stdout, "key %s (%s) created; %s, so it signs at once; the running servers publish it in their JWKS and sign with it within %s (their key reload interval)\n",
			k.ID, k.Algorithm, why, shortDuration(reload))
		return err
	}
	_, err = fmt.Fprintf(stdout, "key %s (%s) created; the running servers publish it in their JWKS within %s (their key reload interval) and sign with it from %s (AUTH_KEY_PUBLISH_DELAY=%s after its creation)\n",
		k.ID, k.Algorithm, shortDuration(reload), k.ActivatesAt.Format(time.RFC3339), shortDuration(k.ActivatesAt.Sub(k.CreatedAt)))
	return err
}

// shortDuration is d as time.Duration prints it, without the zero units
// at its end: 10m, not 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func users(ctx context.Context, args []string, env environment, stdin io.Reader, stdout, stderr io.Writer) error {
	return group(newCmdline("users", usersUsage), args, stdout, map[string]func([]string) error{
		"create": func(args []string) error {
			c := newCmdline("users create", usersCreateUsage)
			email := c.fs.String("email", "", "email of the new user (required)")
			var roles []string
			c.fs.Func("role", "role to grant (repeatable; default user)", func(s string) error {
				roles = append(roles, s)
				return nil
			})
			if err := c.parse(args, 0, stdout); err != nil {
				return err
			}
			if *email == "" {
				return c.fail("--email is required")
			}
			return createUser(ctx, env, *email, roles, stdin, stdout, stderr)
		},
	})
}

func createUser(ctx context.Context, env environment, email string, roles []string, stdin io.Reader, stdout, stderr io.Writer) error {
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}

	cfg, err := loadCommandConfig(ctx, env, stderr)
	if err != nil {
		return err
	}
	db, err := openReady(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	// No tokens are issued here, so the service needs no issuer.
	hasher, err := newHasher(cfg, nil)
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
	u, err := svc.CreateUser(ctx, email, pw, roles)
	if err != nil {
		return errors.New(auth.ErrorMessage(err))
	}
	_, err = fmt.Fprintf(stdout, "created user %s <%s> with roles %s\n", u.ID, u.Email, strings.Join(u.Roles, ","))
	return err
}

// readPassword reads one line from stdin, prompting without echo when stdin
// is a terminal, so the password never appears in argv or shell history.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
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
