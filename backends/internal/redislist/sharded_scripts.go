package redislist

// The scripts of the sharded cluster layout (sharded.go). Each runs on one
// shard: its keys are the shard's list, counter and stamps list, all in
// the shard's hash slot. Every reply is an array of strings.

// ShardAppendScript appends one shard's part of a batch: the entries to
// the list, their stamps (the driver's clock, raised so that they grow
// along the list) to the stamps list, the counter by their number, both
// lists trimmed to the shard's part of the cap, and a wake-up on the
// shard's channel. KEYS: list, seq, stamps. ARGV: trim, channel, n,
// n stamps, n entries. Reply: {RPUSH reply, counter}.
const ShardAppendScript = `
local n = tonumber(ARGV[3])
local last = redis.call('LINDEX', KEYS[3], -1)
local floor = 0
if last then floor = (tonumber(last) or 0) + 1 end
local stamps = {}
for j = 1, n do
  local s = tonumber(ARGV[3 + j]) or 0
  if s < floor then s = floor end
  stamps[j] = string.format('%d', s)
  floor = s + 1
end
local pushed = 0
for j = 1, n, 1000 do
  local e = math.min(j + 999, n)
  pushed = redis.call('RPUSH', KEYS[1], unpack(ARGV, 3 + n + j, 3 + n + e))
  redis.call('RPUSH', KEYS[3], unpack(stamps, j, e))
end
local seq = redis.call('INCRBY', KEYS[2], n)
local trim = tonumber(ARGV[1])
redis.call('LTRIM', KEYS[1], -trim, -1)
redis.call('LTRIM', KEYS[3], -trim, -1)
redis.call('SPUBLISH', ARGV[2], string.format('%d', n))
return {string.format('%d', pushed), string.format('%d', seq)}
`

// ShardReadScript reads one shard: its length, counter, the stamps of
// its oldest entries (for the namespace's cap, see ShardedDriver.Scan),
// and a window of entries with their positions and stamps. KEYS: list,
// seq, stamps. ARGV: mode ("before": the newest entries whose stamp is
// at most the bound, -1 for no bound; "after": the oldest entries whose
// position is above the bound), bound, limit, max bytes, tail (how many
// of the oldest stamps to return). Reply: {len, seq, ntail, stamps...,
// then per entry: position, stamp, size if left on the server else 0,
// data}. An entry over max bytes is not transferred (its data is "").
// Entries are aligned with stamps at the newest end; older entries
// without one (pushed by another tool) take the oldest stamp. Entries and
// stamps are read with one LRANGE per 16 (stampsOf gives what stampAt
// would for a run of entries), as WindowScript reads: the script holds at
// most 16 entries at a time; the binary search for the bound reads single
// stamps.
const ShardReadScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then seq = n end
local base = seq - n + 1
local tn = redis.call('LLEN', KEYS[3])
local off = n - tn
local function at(key, len, i)
  if i >= len / 2 then i = i - len end
  return redis.call('LINDEX', key, i)
end
local function stampAt(j)
  if tn == 0 then return 0 end
  local ti = j - off
  if ti < 0 then ti = 0 end
  return tonumber(at(KEYS[3], tn, ti)) or 0
end
local function stampsOf(lo, hi)
  local out = {}
  if tn == 0 then
    for j = lo, hi do out[#out + 1] = 0 end
    return out
  end
  local tlo, thi = lo - off, hi - off
  if tlo < 0 then tlo = 0 end
  if thi < 0 then thi = 0 end
  local got = redis.call('LRANGE', KEYS[3], tlo, thi)
  for j = lo, hi do
    local ti = j - off
    if ti < 0 then ti = 0 end
    out[#out + 1] = tonumber(got[ti - tlo + 1]) or 0
  end
  return out
end
local out = {string.format('%d', n), string.format('%d', seq)}
local tail = tonumber(ARGV[5]) or 0
if tail > n then tail = n end
out[#out + 1] = string.format('%d', tail)
for lo = 0, tail - 1, 16 do
  local hi = lo + 15
  if hi > tail - 1 then hi = tail - 1 end
  for _, st in ipairs(stampsOf(lo, hi)) do out[#out + 1] = string.format('%d', st) end
end
local limit = tonumber(ARGV[3]) or 0
local maxb = tonumber(ARGV[4]) or 0
local first, last, step = 0, -1, 1
if ARGV[1] == 'before' then
  local bound = tonumber(ARGV[2]) or -1
  local hi = n - 1
  if bound >= 0 then
    local lo, h = 0, n - 1
    hi = -1
    while lo <= h do
      local mid = math.floor((lo + h) / 2)
      if stampAt(mid) <= bound then hi = mid; lo = mid + 1 else h = mid - 1 end
    end
  end
  first, step = hi, -1
  last = hi - limit + 1
  if last < 0 then last = 0 end
  if limit <= 0 or hi < 0 then first, last = 0, -1; step = 1 end
else
  first = (tonumber(ARGV[2]) or 0) + 1 - base
  if first < 0 then first = 0 end
  last = first + limit - 1
  if last > n - 1 then last = n - 1 end
end
local j = first
while (step == 1 and j <= last) or (step == -1 and j >= last) do
  local lo, hi = j, j + 15
  if hi > last then hi = last end
  if step == -1 then
    lo, hi = j - 15, j
    if lo < last then lo = last end
  end
  local vs = redis.call('LRANGE', KEYS[1], lo, hi)
  local ss = stampsOf(lo, hi)
  local k0, k1 = 1, hi - lo + 1
  if step == -1 then k0, k1 = k1, 1 end
  for k = k0, k1, step do
    local v = vs[k] or ''
    local size = 0
    if maxb > 0 and string.len(v) > maxb then size = string.len(v); v = '' end
    out[#out + 1] = string.format('%d', base + lo + k - 1)
    out[#out + 1] = string.format('%d', ss[k])
    out[#out + 1] = string.format('%d', size)
    out[#out + 1] = v
  end
  if step == 1 then j = hi + 1 else j = lo - 1 end
end
return out
`

// ShardClearScript empties one shard other than the first: the list and
// its stamps go, the counter stays (positions never go backwards).
// KEYS: list, seq, stamps. Reply: {entries removed, counter}.
const ShardClearScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then
  seq = n
  redis.call('SET', KEYS[2], string.format('%d', seq))
end
redis.call('DEL', KEYS[1], KEYS[3])
return {string.format('%d', n), string.format('%d', seq)}
`

// ShardClearFirstScript empties the first shard and records the clear of
// the whole namespace: the base (the counters' sum, the other shards'
// given) and the audit record with every shard's entries. KEYS: list,
// seq, stamps, base, audit. ARGV: record head, records to keep, the other
// shards' entries, the other shards' counters. Reply: {entries of all}.
const ShardClearFirstScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then
  seq = n
  redis.call('SET', KEYS[2], string.format('%d', seq))
end
redis.call('DEL', KEYS[1], KEYS[3])
local total = n + tonumber(ARGV[3])
redis.call('SET', KEYS[4], string.format('%d', seq + tonumber(ARGV[4])))
redis.call('RPUSH', KEYS[5], ARGV[1] .. ',"entries":' .. string.format('%d', total) .. '}')
redis.call('LTRIM', KEYS[5], -tonumber(ARGV[2]), -1)
return {string.format('%d', total)}
`

// ShardStateScript reads one shard's length and counter. KEYS: list,
// seq. Reply: {len, effective counter}.
const ShardStateScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then seq = n end
return {string.format('%d', n), string.format('%d', seq)}
`

// CapReadScript reads the recorded cap. KEYS: cap. Reply: {cap or ”}.
const CapReadScript = `
return {redis.call('GET', KEYS[1]) or ''}
`

// ShardSetCapScript records the cap ARGV[1] and appends the audit record
// ARGV[2] completed with the old cap and the namespace's entries ARGV[4]
// (counted over the shards by the driver). KEYS: cap, audit. ARGV: cap,
// record head, records to keep, entries. Reply: {old cap}.
const ShardSetCapScript = `
local old = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2] .. ',"old_cap":' .. string.format('%d', old) .. ',"entries":' .. ARGV[4] .. '}')
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
return {string.format('%d', old)}
`
