// Package ratelimit counts attempts per key with GCRA (the generic cell rate
// algorithm, a token bucket written as one timestamp), optionally escalating
// into lockouts that double with each repeated refusal. Memory keeps the
// counters in process (embedded mode, and the fallback when Redis is down);
// Redis keeps them in Redis, shared by every replica, with the same
// arithmetic in a Lua script so both give the same answers.
//
// All arithmetic is in whole milliseconds (gcra.go is the reference, allow.lua
// its transcription), so the two implementations agree to the millisecond and
// a refusal's RetryAfter is never shorter than 1ms.
package ratelimit
