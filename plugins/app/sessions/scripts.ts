// Lua scripts of the session store. Each one touches the keys of a single user, which all
// share the user's hash tag, so a script runs atomically in one slot on one shard.
// Session keys found through the index are derived inside the script from a prefix that
// carries the same hash tag: they are in the script's slot by construction.

/** Redis's own clock, in milliseconds, so that every instance agrees on "now". */
export const NOW_MS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`

/**
 * Puts `sid` in the index with expiry `until_ms` and keeps the index alive as long as the
 * longest-lived session in it, so that no key is ever left without a TTL. Expects `now`.
 */
const INDEX_SESSION = `
local function index_session (index, sid, until_ms)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  redis.call('ZADD', index, until_ms, sid)
  local latest = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', index, latest[2])
end
`

/** Ends every session in `index` but `keep`; returns how many ended. */
export const END_SESSIONS_FUNCTION = `
local function end_sessions (index, session_prefix, keep)
  local ended = 0
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if sid ~= keep then
      ended = ended + redis.call('DEL', session_prefix .. sid)
      redis.call('ZREM', index, sid)
    end
  end
  return ended
end
`

/**
 * KEYS: the user hash, session hash, the user's session index.
 * ARGV: credential version the password was checked against, ttl seconds, sid, then
 * field/value pairs of the session hash.
 * Creates nothing and returns 0 when the user is gone or its password changed since it
 * was checked: a login racing a password change or a deletion cannot outlive it.
 */
export const CREATE_SESSION = `${NOW_MS}${INDEX_SESSION}
if redis.call('HGET', KEYS[1], 'credential') ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[2], 'created_at', now, 'last_used_at', now, unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[2], ttl)
index_session(KEYS[3], ARGV[3], now + ttl * 1000)
return now
`

/**
 * KEYS: session hash, the user's session index.
 * ARGV: hash of the presented refresh token, hash of its successor, grace ms, ttl seconds,
 * sid. The caller has checked that the token was issued by latch for this session.
 * - the current token: rotated to the successor, the session's lifetime starts again;
 * - the token just rotated, within the grace window: "retried", same successor;
 * - any other token of this session is an earlier one coming back: stolen or replayed,
 *   so the whole session ends ("reused").
 */
export const ROTATE_REFRESH = `${NOW_MS}${INDEX_SESSION}
local state = redis.call('HMGET', KEYS[1], 'refresh', 'previous', 'rotated_at')
local current, previous, rotated_at = state[1], state[2], tonumber(state[3])
if not current then return 'missing' end
if current == ARGV[1] then
  local ttl = tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'refresh', ARGV[2], 'previous', ARGV[1],
    'rotated_at', now, 'last_used_at', now)
  redis.call('EXPIRE', KEYS[1], ttl)
  index_session(KEYS[2], ARGV[5], now + ttl * 1000)
  return 'rotated'
end
if previous == ARGV[1] and current == ARGV[2] and now - rotated_at <= tonumber(ARGV[3]) then
  return 'retried'
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[5])
return 'reused'
`

/** KEYS: session hash. Records a use; never recreates a session that has ended. */
export const TOUCH_SESSION = `${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'last_used_at', now)
end
return now
`

/**
 * KEYS: the user's session index. ARGV: session key prefix.
 * Returns sid, created_at, last_used_at, user_agent, ip of each live session, soonest
 * expiring first. Entries of expired sessions are skipped, so no sweep job is needed.
 */
export const LIST_SESSIONS = `${NOW_MS}
local sessions = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  local s = redis.call('HMGET', ARGV[1] .. sid, 'created_at', 'last_used_at', 'user_agent', 'ip')
  if s[1] then
    table.insert(sessions, { sid, s[1], s[2] or s[1], s[3] or '', s[4] or '' })
  end
end
return sessions
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
export const END_SESSIONS = `${END_SESSIONS_FUNCTION}
return end_sessions(KEYS[1], ARGV[1], ARGV[2])
`
