import createError from '@fastify/error'

// Error codes are part of the HTTP contract: clients switch on them.

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1

const CHALLENGE = 'Bearer realm="latch"'

export const MissingToken = createError(
  'MISSING_TOKEN', 'This route needs a bearer token', 401)

export const InvalidToken = createError(
  'INVALID_TOKEN', 'The access token is invalid, expired or revoked', 401)

export const MalformedAuthorization = createError(
  'INVALID_REQUEST', 'The Authorization header is malformed', 400)

export const InvalidCredentials = createError(
  'INVALID_CREDENTIALS', 'Invalid username or password', 401)

export const InvalidPassword = createError(
  'INVALID_PASSWORD', 'The password is not correct', 401)

export const InvalidRefreshToken = createError(
  'INVALID_REFRESH_TOKEN', 'The refresh token is invalid, expired or revoked', 401)

export const InvalidUsername = createError(
  'INVALID_USERNAME',
  'Usernames are 3 to 32 letters, digits, dots, dashes or underscores', 400)

export const UsernameTaken = createError(
  'USERNAME_TAKEN', 'This username is already taken', 409)

export const NotFound = createError('NOT_FOUND', '%s', 404)

export const TooManyRequests = createError(
  'RATE_LIMITED', 'Too many requests; retry after the time in Retry-After', 429)

export const ClusterUnavailable = createError(
  'CLUSTER_UNAVAILABLE', 'The session store cannot answer right now; retry shortly', 503)

/** The cluster did not answer within CLUSTER_TIMEOUT_MS. */
export class DeadlinePassed extends Error {
  override name = 'DeadlinePassed'
  constructor () {
    super('cluster deadline passed')
  }
}

/** A write reached its master but not, in time, a replica: a failover could undo it. */
export class NotReplicated extends Error {
  override name = 'NotReplicated'
  constructor () {
    super('no replica confirmed the write in time')
  }
}

/** Response headers that go with an error code (RFC 6750 challenges, Retry-After). */
export function headersFor (code: string | undefined): Record<string, string> {
  switch (code) {
    case 'MISSING_TOKEN':
      return { 'www-authenticate': CHALLENGE }
    case 'INVALID_TOKEN':
      return { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` }
    case 'INVALID_REQUEST':
      return { 'www-authenticate': `${CHALLENGE}, error="invalid_request"` }
    case 'CLUSTER_UNAVAILABLE':
      return { 'retry-after': String(RETRY_AFTER_SECONDS) }
    default:
      return {}
  }
}
