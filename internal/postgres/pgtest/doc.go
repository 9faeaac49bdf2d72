// Package pgtest gives each test its own empty PostgreSQL schema, so that
// tests against the server named by AUTH_TEST_POSTGRES_URL can run in
// parallel without seeing each other's rows or migrations, and gives fault
// tests a private server (StartServer) that they may stop and start again.
// It is a regular (non-test) package so that the tests of any package can
// import it.
package pgtest
