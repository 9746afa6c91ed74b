// Lua scripts of the session store. Each one touches the keys of a single user, which all
// share the user's hash tag, so a script runs atomically in one slot on one shard.
// Session keys found through the index are derived inside the script from a prefix that
// carries the same hash tag: they are in the script's slot by construction.

/** Redis's own clock, in milliseconds, so that every instance agrees on "now". */
const NOW_MS = `
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
`

/**
 * KEYS: session hash, the user's session index.
 * ARGV: ttl seconds, sid, then field/value pairs of the session hash.
 * Stamps created_at and last_used_at with Redis's clock and returns that time.
 * The index entry expires with the session; the index itself lives as long as the
 * longest-lived session in it, so no key is ever left without a TTL.
 */
export const CREATE_SESSION = `${NOW_MS}
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'created_at', now, 'last_used_at', now, unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl * 1000, ARGV[2])
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], latest[2])
return now
`

/** KEYS: session hash, the user's session index. ARGV: sid. Returns 1 if it ended. */
export const END_SESSION = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
`

/**
 * KEYS: the user's session index. ARGV: session key prefix, the sid to keep ('' for
 * none). Returns how many sessions ended.
 */
export const END_SESSIONS = `
local ended = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. sid)
    redis.call('ZREM', KEYS[1], sid)
  end
end
return ended
`
