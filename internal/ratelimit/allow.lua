-- Allow for Redis: the transcription of step in gcra.go, with which it must
-- agree to the millisecond. Change both together.
--
-- KEYS     hashes of one (rule, key) each: tat, until, strikes, struck (Unix ms)
-- ARGV     now, then for each key: interval, tau, maxLock, memory (ms), cost (clamped)
-- returns  for each key made: allowed (0/1), remaining, retry after (ms)
--
-- Several keys are all or nothing (AllowAll): they are made in order until
-- one is refused, the ones made before it are then given back, and the ones
-- after it are not made. They must be on one node: one script can't span
-- Cluster slots.
local now = tonumber(ARGV[1])

local function allow(key, interval, tau, maxlock, memory, cost)
  local v = redis.call('HMGET', key, 'tat', 'until', 'strikes', 'struck')
  local tat, untl = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  local strikes, struck = tonumber(v[3]) or 0, tonumber(v[4]) or 0

  local function remaining(t)
    return math.max(math.floor((now + tau - t) / interval), 0)
  end

  -- store writes the state back, or deletes it once it says nothing an
  -- absent key would not (state.ttl in gcra.go).
  local function store()
    local ttl = math.max(tat, untl) - now
    if strikes > 0 then ttl = math.max(ttl, struck + memory - now) end
    if ttl <= 0 then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'tat', tat, 'until', untl, 'strikes', strikes, 'struck', struck)
      redis.call('PEXPIRE', key, ttl)
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
end

local function arg(i, n) return tonumber(ARGV[1 + (i - 1) * 5 + n]) end

local out = {}
for i = 1, #KEYS do
  local d = allow(KEYS[i], arg(i, 1), arg(i, 2), arg(i, 3), arg(i, 4), arg(i, 5))
  local n = #out
  out[n + 1], out[n + 2], out[n + 3] = d[1], d[2], d[3]
  if d[1] == 0 then
    for j = 1, i - 1 do
      if arg(j, 5) > 0 then
        allow(KEYS[j], arg(j, 1), arg(j, 2), arg(j, 3), arg(j, 4), -arg(j, 5))
      end
    end
    break
  end
end
return out
