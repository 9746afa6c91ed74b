import { createHash, randomBytes } from 'node:crypto'
import type { Result } from 'ioredis'
import type { RedisClient } from '../../external/redis.js'
import { newId, type Keys } from '../keys.js'
import { fromCluster } from '../errors/errors.js'
import { CREATE_SESSION, END_SESSION, END_SESSIONS } from './scripts.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    latchCreateSession(
      session: string, index: string, ttl: number, sid: string, ...fields: string[]
    ): Result<number, Context>
    latchEndSession(session: string, index: string, sid: string): Result<number, Context>
    latchEndSessions(index: string, sessionPrefix: string, keep: string): Result<number, Context>
  }
}

export interface NewSession {
  userId: string
  username: string
  userAgent: string
  ip: string
}

export interface IssuedSession {
  sessionId: string
  refreshToken: string
}

/** What the authenticate hook learns about a live session. */
export interface LiveSession {
  username: string
}

export type LogoutScope = 'local' | 'others' | 'global'

function defineScripts (redis: RedisClient): void {
  redis.defineCommand('latchCreateSession', { numberOfKeys: 2, lua: CREATE_SESSION })
  redis.defineCommand('latchEndSession', { numberOfKeys: 2, lua: END_SESSION })
  redis.defineCommand('latchEndSessions', { numberOfKeys: 1, lua: END_SESSIONS })
}

function hashRefreshSecret (secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

export function createSessionStore (redis: RedisClient, keys: Keys, ttlSeconds: number) {
  defineScripts(redis)

  async function create (session: NewSession): Promise<IssuedSession> {
    const { userId, username, userAgent, ip } = session
    const sessionId = newId()
    const secret = randomBytes(32).toString('base64url')
    const fields = [
      'username', username,
      'refresh', hashRefreshSecret(secret),
      'user_agent', userAgent,
      'ip', ip
    ]
    await fromCluster(redis.latchCreateSession(
      keys.session(userId, sessionId), keys.sessions(userId), ttlSeconds, sessionId, ...fields))
    return { sessionId, refreshToken: `${userId}.${sessionId}.${secret}` }
  }

  /** The hot path: one command, answered by the session's shard. */
  async function check (userId: string, sessionId: string): Promise<LiveSession | null> {
    const username = await fromCluster(redis.hget(keys.session(userId, sessionId), 'username'))
    return username === null ? null : { username }
  }

  async function end (userId: string, sessionId: string): Promise<boolean> {
    const ended = await fromCluster(redis.latchEndSession(
      keys.session(userId, sessionId), keys.sessions(userId), sessionId))
    return ended === 1
  }

  /** Ends every session of the user, or every one but `keep`. Returns how many ended. */
  async function endAll (userId: string, keep = ''): Promise<number> {
    return await fromCluster(redis.latchEndSessions(
      keys.sessions(userId), keys.sessionPrefix(userId), keep))
  }

  async function logout (userId: string, sessionId: string, scope: LogoutScope) {
    if (scope === 'local') return await end(userId, sessionId)
    return await endAll(userId, scope === 'others' ? sessionId : '')
  }

  return { create, check, end, endAll, logout }
}

export type SessionStore = ReturnType<typeof createSessionStore>
