// Package oauthtest is test support for social login: real providers on
// loopback for tests of internal/oauth and end-to-end tests of authd.
//
//   - StartOP runs an OpenID Provider: zitadel/oidc's op package (OpenID
//     Certified), wired by its example server to its example in-memory
//     storage, with the clients the test registers. OP.Login plays the
//     user's browser through its login page.
//   - StartGitHub runs an emulator of the parts of GitHub authd uses: the
//     OAuth app web flow and the REST API's /user and /user/emails, on
//     github.com's layout or a GitHub Enterprise Server's.
//
// It is for tests only: nothing outside _test.go files may import it.
package oauthtest
