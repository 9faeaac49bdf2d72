-- Allow for Redis: the transcription of step in gcra.go, with which it must
-- agree to the millisecond. Change both together.
--
-- KEYS[1]  the hash of one (rule, key): tat, until, strikes, struck (Unix ms)
-- ARGV     now, interval, tau, maxLock, memory (ms), cost (clamped)
-- returns  {allowed (0/1), remaining, retry after (ms)}
local now, interval, tau = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local maxlock, memory, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local v = redis.call('HMGET', KEYS[1], 'tat', 'until', 'strikes', 'struck')
local tat, untl = tonumber(v[1]) or 0, tonumber(v[2]) or 0
local strikes, struck = tonumber(v[3]) or 0, tonumber(v[4]) or 0

local function remaining(t)
  return math.max(math.floor((now + tau - t) / interval), 0)
end

-- store writes the state back, or deletes it once it says nothing an absent
-- key would not (state.ttl in gcra.go).
local function store()
  local ttl = math.max(tat, untl) - now
  if strikes > 0 then ttl = math.max(ttl, struck + memory - now) end
  if ttl <= 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'tat', tat, 'until', untl, 'strikes', strikes, 'struck', struck)
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end

if strikes > 0 and now >= struck + memory then
  strikes, struck = 0, 0
end
if now < untl then
  return {0, 0, untl - now}
end
local t0 = math.max(tat, now)
if cost < 0 then
  tat = math.max(t0 + cost * interval, now)
  store()
  return {1, remaining(tat), 0}
elseif cost == 0 then
  local wait = t0 + interval - tau - now
  if wait > 0 then return {0, remaining(t0), wait} end
  return {1, remaining(t0), 0}
end
local wait = t0 + cost * interval - tau - now
if wait <= 0 then
  tat = t0 + cost * interval
  store()
  return {1, remaining(tat), 0}
end
if maxlock == 0 then
  return {0, remaining(t0), wait}
end
strikes = strikes + 1
local lock = math.min(wait * 2 ^ (strikes - 1), maxlock)
untl, struck = now + lock, now
store()
return {0, 0, lock}
