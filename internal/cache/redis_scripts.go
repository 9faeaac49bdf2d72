package cache

import "github.com/redis/go-redis/v9"

// The scripts compare versions as strings: Lua numbers are doubles, which
// can't hold a 62-bit version exactly. An entry is the 8-byte big-endian
// version it was loaded under followed by the value.

// getScript returns {version, entry or nil} of KEYS[1] (version) and KEYS[2]
// (entry) in one round trip. A missing version is created from ARGV[1] (a
// random value) with a TTL of ARGV[2] ms; its group then has no current entry.
var getScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {ARGV[1], false}
end
return {v, redis.call('GET', KEYS[2])}
`)

// fillScript stores the entry ARGV[2] under KEYS[2] for ARGV[3] ms if the
// version KEYS[1] still equals ARGV[1], and makes the version live at least
// ARGV[4] ms. It returns 1 if it stored the entry.
var fillScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
`)

// invalidateScript increments the version KEYS[1]. A missing version is left
// missing (INCR would create it as 1, a value an old entry may carry), and
// one INCR can't handle (corrupt, or at the int64 limit) is deleted: the
// next Get recreates it from a random value.
var invalidateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local r = redis.pcall('INCR', KEYS[1])
if type(r) == 'table' and r.err then redis.call('DEL', KEYS[1]) end
return 1
`)
