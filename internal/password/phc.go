package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
// Strict rejects non-zero trailing bits, so every hash has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// phcPrefix starts every hash this package writes and accepts: version 19
// (0x13, argon2.Version) is the only one x/crypto/argon2 computes.
const phcPrefix = "$argon2id$v=19$"

// maxPHCLen bounds the length of a stored argon2id hash that parsePHC looks
// at, comfortably above the longest one the limits allow.
const maxPHCLen = 512

// encodePHC returns the PHC string of an argon2id hash.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix,
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsePHC parses an argon2id PHC string as encodePHC writes it:
// m, t and p in that order, decimal without leading zeros, no optional
// fields. Parameters outside this package's limits are errors, so what it
// returns is safe to compute with. Every error wraps ErrMalformedHash, and
// none quotes s.
func parsePHC(s string) (p Params, salt, key []byte, err error) {
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("password: argon2id hash: %s: %w", why, ErrMalformedHash)
	}
	if len(s) > maxPHCLen {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		return bad("not argon2id version 19")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return bad("want parameters, salt and hash")
	}
	params := strings.Split(fields[0], ",")
	if len(params) != 3 {
		return bad("want parameters m, t and p")
	}
	m, ok1 := parseParam(params[0], "m=", maxMemory)
	t, ok2 := parseParam(params[1], "t=", maxTime)
	threads, ok3 := parseParam(params[2], "p=", 255)
	if !ok1 || !ok2 || !ok3 || t == 0 || threads == 0 || m < minMemPerLane*threads {
		return bad("parameters out of range")
	}
	// The decoders ignore \r and \n; refuse them so that one hash has one
	// spelling.
	if strings.ContainsAny(fields[1], "\r\n") || strings.ContainsAny(fields[2], "\r\n") {
		return bad("bad base64")
	}
	salt, err1 := b64.DecodeString(fields[1])
	key, err2 := b64.DecodeString(fields[2])
	if err1 != nil || err2 != nil {
		return bad("bad base64")
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen || len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad("salt or hash length out of range")
	}
	p = Params{
		Memory:  m,
		Time:    t,
		Threads: uint8(threads),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	return p, salt, key, nil
}

// parseParam parses "<name><decimal>" with a value of at most limit.
func parseParam(s, name string, limit uint32) (uint32, bool) {
	v, ok := strings.CutPrefix(s, name)
	// ParseUint would accept leading zeros ("m=019456"), which would give one
	// hash two spellings.
	if !ok || v == "" || len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > uint64(limit) {
		return 0, false
	}
	return uint32(n), true
}
