// Package config loads authd's configuration from AUTH_* environment
// variables and an optional .env file, applies defaults, and validates it.
// The variable names are a public contract (SPEC §3): Vars lists every one.
package config
