import { END_SESSIONS_FUNCTION } from '../sessions/scripts.js'

// Account scripts run in the user's slot, next to the user's sessions, so that a password
// change or a deletion and the end of the sessions it implies happen as one step.

/**
 * KEYS: user hash, the user's session index.
 * ARGV: new password hash, new credential version, session key prefix, sid to keep.
 * Returns how many sessions ended, or -1 when the user is gone.
 */
export const CHANGE_PASSWORD = `${END_SESSIONS_FUNCTION}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'password', ARGV[1], 'credential', ARGV[2])
return end_sessions(KEYS[2], ARGV[3], ARGV[4])
`

/**
 * KEYS: user hash, the user's session index. ARGV: session key prefix.
 * Deletes the user and every session; returns the username, or nil when already gone.
 */
export const DELETE_USER = `${END_SESSIONS_FUNCTION}
local username = redis.call('HGET', KEYS[1], 'username')
if not username then return nil end
end_sessions(KEYS[2], ARGV[1], '')
redis.call('DEL', KEYS[1], KEYS[2])
return username
`

/** KEYS: a username's index key. ARGV: uid. Deletes the key only if it names this user. */
export const RELEASE_USERNAME = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** KEYS: a username's index key. ARGV: the stale owner, the new owner. */
export const TAKE_OVER_USERNAME = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`
