// Package bench measures a running authd over HTTP and compares the results
// with what the machine can do at all, measured in the same run: how fast it
// verifies argon2id hashes and access tokens, and how fast a bare net/http
// handler answers the same client. A figure alone (800 logins/s) says little;
// the ratio to its ceiling says whether authd or the hardware is the limit.
//
// Each scenario is a closed loop: a fixed number of workers, each sending its
// next request when the previous one has returned, until the duration has
// elapsed. Only successful (2xx) responses count as throughput, and latency
// percentiles are exact, computed from every successful request's latency.
// Work a worker needs before it can send its first request (logging in) is
// done before the clock starts and is not timed.
//
// Users are seeded straight into the database through Importer, with one
// shared password hash, because hashing a million passwords through the API
// would take hours. The password is the caller's (Options.Password); authd
// bench makes a random one per run rather than publish one that would sign
// in to every database ever benchmarked.
//
// The package depends on authd's domain types only; cmd/authd wires the
// storage backend, the password hasher and the token manager.
package bench
