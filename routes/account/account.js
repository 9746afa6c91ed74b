// The account page's script: signs in through latch's JSON API and manages the user's
// sessions. The tokens live in the two variables below and nowhere else: storage or a
// cookie would keep them readable by any script on this origin long after the page
// closed. Memory forgets them with the page, which is also why a reload signs out.

let accessToken = null
let refreshToken = null
let busy = false

const $ = (id) => document.getElementById(id)
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

class ApiError extends Error {
  constructor (status) {
    super(`HTTP ${status}`)
    this.status = status
  }
}

function keep (pair) {
  accessToken = pair.access_token
  refreshToken = pair.refresh_token
}

async function send (method, url, { body, token } = {}) {
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  return await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store'
  })
}

/** A revoked or expired access token, as opposed to none at all. */
function invalidToken (res) {
  const challenge = res.headers.get('www-authenticate') ?? ''
  return res.status === 401 && challenge.includes('error="invalid_token"')
}

/** False when the refresh token is refused; other failures are worth retrying later. */
async function refresh () {
  const res = await send('POST', '/auth/refresh', { body: { refresh_token: refreshToken } })
  if (res.status === 400 || res.status === 401) return false
  if (!res.ok) throw new ApiError(res.status)
  keep(await res.json())
  return true
}

/** Calls a protected route; an expired access token is refreshed once, then retried. */
async function api (method, url) {
  let res = await send(method, url, { token: accessToken })
  if (invalidToken(res) && refreshToken !== null && await refresh()) {
    res = await send(method, url, { token: accessToken })
  }
  if (!res.ok) throw new ApiError(res.status)
  return res.status === 204 ? null : await res.json()
}

function say (text) {
  $('message').textContent = text
}

function show (signedIn) {
  $('sign-in').hidden = signedIn
  $('sessions').hidden = !signedIn
  $(signedIn ? 'sessions-title' : 'username').focus()
}

function signedOut (text) {
  accessToken = null
  refreshToken = null
  // Nothing of the account stays in the page once it is signed out.
  $('session-rows').replaceChildren()
  show(false)
  say(text)
}

function timeCell (row, iso) {
  const time = document.createElement('time')
  time.dateTime = iso
  time.textContent = dateTime.format(new Date(iso))
  row.insertCell().append(time)
}

function endButton (session, device) {
  const button = document.createElement('button')
  button.type = 'button'
  button.textContent = 'End session'
  button.setAttribute('aria-label', `End session on ${device}`)
  button.addEventListener('click', () => run(() => endSession(session.id)))
  return button
}

// textContent only: a user agent is whatever the client sent, markup included.
function rowFor (session) {
  const row = document.createElement('tr')
  const device = session.user_agent || 'Unknown device'
  row.insertCell().textContent = device
  row.insertCell().textContent = session.ip
  timeCell(row, session.last_used_at)
  timeCell(row, session.created_at)
  const last = row.insertCell()
  if (session.current) {
    row.className = 'current'
    last.textContent = 'This device'
  } else {
    last.append(endButton(session, device))
  }
  return row
}

async function loadSessions () {
  const { sessions } = await api('GET', '/auth/sessions')
  sessions.sort((a, b) => Number(b.current) - Number(a.current) ||
    Date.parse(b.last_used_at) - Date.parse(a.last_used_at))
  $('session-rows').replaceChildren(...sessions.map(rowFor))
}

async function signIn () {
  const body = { username: $('username').value, password: $('password').value }
  $('password').value = ''
  const res = await send('POST', '/auth/login', { body })
  // 400 too: a password too short to be anyone's is just as wrong.
  if (res.status === 400 || res.status === 401) return say('Wrong username or password.')
  if (!res.ok) throw new ApiError(res.status)

  keep(await res.json())
  say('')
  show(true)
  await loadSessions()
}

async function endSession (id) {
  try {
    await api('DELETE', `/auth/sessions/${encodeURIComponent(id)}`)
  } catch (error) {
    // Already gone, ended elsewhere: the list below shows it.
    if (!(error instanceof ApiError && error.status === 404)) throw error
  }
  say('That session has ended.')
  await loadSessions()
}

async function signOutOthers () {
  await api('POST', '/auth/logout?scope=others')
  say('Every other session has ended.')
  await loadSessions()
}

async function signOut () {
  await api('POST', '/auth/logout')
  signedOut('You are signed out.')
}

const BUSY = { 429: 'Too many attempts.', 503: 'latch is unavailable for a moment.' }

function report (error) {
  const status = error instanceof ApiError ? error.status : 0
  if (status === 401) signedOut('Your session has ended. Please sign in again.')
  else if (BUSY[status]) say(`${BUSY[status]} Please try again shortly.`)
  else if (status !== 0) say(`Something went wrong (HTTP ${status}). Please try again.`)
  else say('The server could not be reached. Please try again shortly.')
}

/** One user action at a time: a second click while a call runs would race the first. */
async function run (action) {
  if (busy) return
  busy = true
  try {
    await action()
  } catch (error) {
    report(error)
  } finally {
    busy = false
  }
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault()
  run(signIn)
})
$('sign-out-others').addEventListener('click', () => run(signOutOthers))
$('sign-out').addEventListener('click', () => run(signOut))
