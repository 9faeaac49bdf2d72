// Package password hashes and verifies passwords and enforces authd's
// password policy. Hasher implements auth.PasswordHasher.
//
// New hashes are argon2id in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (salt and hash in unpadded standard base64), so every hash carries its own
// parameters and old hashes keep verifying after the parameters are raised.
// Verify also accepts bcrypt hashes ($2a$, $2b$, $2y$) so that users imported
// from other systems can sign in; it reports that those, and argon2id hashes
// with parameters other than the configured ones, should be re-hashed.
//
// Passwords are normalised to Unicode NFKC before hashing, as NIST SP 800-63B
// recommends, so that the same password typed on different keyboards or
// operating systems (a precomposed "é" or "e" plus a combining accent, a "ﬁ"
// ligature or "fi") verifies.
//
// Hashing is deliberately expensive in memory and time, so a Hasher runs at
// most Config.MaxConcurrent hashes at once. A call that can't get a slot
// within Config.QueueTimeout fails with auth.EUnavailable and a RetryAfter,
// which the HTTP layer turns into 503 with Retry-After: under a login flood
// authd sheds load instead of running out of memory. With Config.Priority
// each hash runs on an OS thread of its own at a lower priority (Linux), so
// that the kernel serves everything else first.
//
// A failed verification must not tell whether the account exists, so
// Verify gives every failure the same work: one argon2id at the configured
// parameters, plus, once the Hasher has seen a bcrypt hash, bcrypt work of
// the highest cost it has seen (a dummy for an unknown account or an argon2id
// one, the real hash topped up with dummies of the costs in between for a
// cheaper bcrypt one). Successful verifications are not padded. What this
// leaves:
//
//   - The cost is learnt from the hashes verified, per process: after each
//     start, until the first bcrypt hash is verified, failures cost one
//     argon2id, so the first failed login of a bcrypt account (and of one
//     costlier than any seen before) takes longer than an unknown email's,
//     once per process. Learning it at start-up instead would need an index
//     over the users' hashes that neither backend has.
//   - argon2id hashes at parameters older than the configured ones verify at
//     their own cost until the next successful login re-hashes them.
//   - The price: while bcrypt hashes of cost C exist, every failed login and
//     every login of an unknown email costs argon2id plus bcrypt at cost C
//     (cost 12 is about a quarter of a second of CPU), within the same
//     bounded hashing slots. Where no bcrypt hash was ever imported, nothing
//     changes.
//
// Check implements the NIST SP 800-63B policy: a length range counted in
// Unicode code points, no composition rules, and rejection of common and
// breached passwords. The list of those, common-passwords.txt, is a generated
// asset taken from zxcvbn; README.md in this folder says where it comes from
// and the go:generate directive below rebuilds it.
package password

//go:generate sh gen-common-passwords.sh
