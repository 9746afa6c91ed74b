import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page, type Route } from 'playwright-core'
import { build, get, login, register, PASSWORD, type Pair } from '../helpers/app.js'

// The account page driven in Debian's Chromium against latch on a loopback port. Not part
// of `npm test`: `npm run test:e2e` runs it, and needs /usr/bin/chromium.

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync'
]

const POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Runs before the page's own script and records any write to storage or cookies, so the
// test sees writes that were cleared again, not only what is left at the end.
const WATCH_STORAGE = `
  window.storageWrites = []
  const note = (what) => window.storageWrites.push(what)
  const setItem = Storage.prototype.setItem
  Storage.prototype.setItem = function (key, value) {
    note('storage ' + key)
    return setItem.call(this, key, value)
  }
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')
  Object.defineProperty(document, 'cookie', {
    get: () => cookie.get.call(document),
    set: (value) => { note('cookie'); cookie.set.call(document, value) }
  })
  const open = IDBFactory.prototype.open
  IDBFactory.prototype.open = function (...args) {
    note('indexedDB ' + args[0])
    return open.apply(this, args)
  }`

const STORAGE_STATE = `indexedDB.databases().then((databases) => ({
  local: localStorage.length,
  session: sessionStorage.length,
  cookie: document.cookie,
  databases: databases.length,
  writes: window.storageWrites
}))`

async function listen (server: FastifyInstance): Promise<string> {
  await server.listen({ port: 0, host: '127.0.0.1' })
  const { port } = server.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** A fresh browser profile on the account page; closed when the test ends. */
async function openPage (t: Test, browser: Browser, origin: string, userAgent: string) {
  const context = await browser.newContext({ userAgent })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.addInitScript({ content: WATCH_STORAGE })

  // Console errors other than failed requests: a script error or a refused policy.
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('console', (message) => {
    const text = message.text()
    if (message.type() === 'error' && !text.startsWith('Failed to load resource')) {
      problems.push(text)
    }
  })

  await page.goto(`${origin}/account`)
  return { page, problems }
}

/** Signs in through the form and returns what the login call answered. */
async function signIn (page: Page, username: string, password = PASSWORD) {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  const [response] = await Promise.all([
    page.waitForResponse((res) => new URL(res.url()).pathname === '/auth/login'),
    page.getByRole('button', { name: 'Sign in' }).click()
  ])
  return response
}

/** Waits until the sessions table has `count` rows and returns their cells' text. */
async function rows (page: Page, count: number): Promise<string[][]> {
  // The page replaces all rows at once, so these two waits see one state. Not
  // waitForFunction: its polling evaluates a string, which the page's policy refuses.
  const row = page.locator('#session-rows tr')
  await row.nth(count).waitFor({ state: 'detached' })
  await row.nth(count - 1).waitFor({ state: 'attached' })
  return await page.evaluate<string[][]>(`[...document.querySelectorAll('#session-rows tr')]
    .map((row) => [...row.cells].map((cell) => cell.textContent))`)
}

async function status (server: FastifyInstance, token: string) {
  return (await get(server, '/me', token)).statusCode
}

/** The message the page shows, once it shows one. */
async function message (page: Page): Promise<string> {
  const shown = page.locator('#message').filter({ hasText: /\S/ })
  await shown.waitFor()
  return await shown.innerText()
}

t.test('account page', async (t) => {
  const server = await build(t)
  const origin = await listen(server)
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS
  })
  t.teardown(() => browser.close())

  t.test('is served with a strict policy and the right types', async (t) => {
    const types = { '': 'text/html', '/account.js': 'text/javascript', '/account.css': 'text/css' }
    for (const [path, type] of Object.entries(types)) {
      const res = await get(server, `/account${path}`)
      t.equal(res.statusCode, 200, `/account${path}`)
      t.match(res.headers, {
        'content-type': `${type}; charset=utf-8`,
        'content-security-policy': POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store'
      })
    }
  })

  t.test('lists and ends sessions, then signs out', async (t) => {
    const { username } = await register(server)
    const phone = await login(server, username, PASSWORD, 'Phone/1.0 (e2e)')
    // Markup in a user agent must show as text, never become an element.
    const laptopAgent = 'Laptop/2.0 <img src=x onerror="document.title=1">'
    const laptop = await login(server, username, PASSWORD, laptopAgent)
    const { page, problems } = await openPage(t, browser, origin, 'Browser/3.0 (e2e)')

    const own = await (await signIn(page, username)).json() as Pair
    const listed = await rows(page, 3)
    const current = listed.filter((cells) => cells.includes('This device'))
    t.equal(current.length, 1, 'one session is this device')
    t.equal(current[0]?.[0], 'Browser/3.0 (e2e)')
    t.ok(listed.some((cells) => cells[0] === laptopAgent), 'markup shown as text')
    t.equal(await page.locator('#session-rows img').count(), 0)

    await page.getByRole('button', { name: 'End session on Phone/1.0 (e2e)' }).click()
    await rows(page, 2)
    t.equal(await status(server, phone.access_token), 401, 'ended session refused')
    t.equal(await status(server, laptop.access_token), 200)
    t.equal(await status(server, own.access_token), 200)

    await page.getByRole('button', { name: 'Sign out everywhere else' }).click()
    t.equal((await rows(page, 1))[0]?.[4], 'This device')
    t.equal(await status(server, laptop.access_token), 401, 'other sessions ended')
    t.equal(await status(server, own.access_token), 200, 'this one still lives')

    t.same(await page.evaluate(STORAGE_STATE),
      { local: 0, session: 0, cookie: '', databases: 0, writes: [] }, 'nothing stored')

    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    t.equal(await message(page), 'You are signed out.')
    t.equal(await page.locator('#session-rows tr').count(), 0, 'no account data left')
    t.equal(await status(server, own.access_token), 401, 'signed out for real')
    t.same(problems, [], 'no script errors or policy violations')
  })

  t.test('a refused access token is refreshed once and the call retried', async (t) => {
    const { username } = await register(server)
    const { page, problems } = await openPage(t, browser, origin, 'Browser/3.0 (e2e)')
    // Spoil the token of the first listing only, as if it had expired on the way.
    await page.route('**/auth/sessions', async (route) => {
      const headers = route.request().headers()
      await route.continue({ headers: { ...headers, authorization: `${headers.authorization}x` } })
    }, { times: 1 })
    const refreshed = page.waitForResponse((res) => res.url().endsWith('/auth/refresh'))

    const own = await (await signIn(page, username)).json() as Pair
    t.equal((await refreshed).status(), 200)
    t.equal((await rows(page, 1))[0]?.[4], 'This device')
    t.equal(await status(server, own.access_token), 200, 'the session goes on')
    t.same(problems, [])
  })

  t.test('a session ended elsewhere returns to the sign-in form', async (t) => {
    const { username } = await register(server)
    const { page } = await openPage(t, browser, origin, 'Browser/3.0 (e2e)')
    await signIn(page, username)
    await rows(page, 1)

    const other = await login(server, username)
    await server.inject({
      method: 'POST',
      url: '/auth/logout?scope=others',
      headers: { authorization: `Bearer ${other.access_token}` }
    })
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click()

    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    t.equal(await message(page), 'Your session has ended. Please sign in again.')
    t.notOk(await page.locator('table').isVisible())
  })

  t.test('a wrong password shows an error and no table', async (t) => {
    const { username } = await register(server)
    const { page } = await openPage(t, browser, origin, 'Browser/3.0 (e2e)')

    const response = await signIn(page, username, 'not the password')
    t.equal(response.status(), 401)
    t.equal(await message(page), 'Wrong username or password.')
    t.notOk(await page.locator('table').isVisible())
    t.equal(await page.locator('#session-rows tr').count(), 0)
  })

  t.test('429 and 503 ask to try again shortly', async (t) => {
    const { username } = await register(server)
    const { page } = await openPage(t, browser, origin, 'Browser/3.0 (e2e)')
    const refuse = (status: number) => async (route: Route) => await route.fulfill({
      status, headers: { 'retry-after': '1' }, json: { statusCode: status }
    })

    await page.route('**/auth/login', refuse(429), { times: 1 })
    await signIn(page, username)
    t.equal(await message(page), 'Too many attempts. Please try again shortly.')

    await page.route('**/auth/sessions', refuse(503), { times: 1 })
    await signIn(page, username)
    await page.locator('#message').filter({ hasText: 'unavailable' }).waitFor()
    t.equal(await message(page), 'latch is unavailable for a moment. Please try again shortly.')
    t.ok(await page.locator('#sessions').isVisible(), 'still signed in')
  })

  t.test('a reload signs out', async (t) => {
    const { username } = await register(server)
    const { page } = await openPage(t, browser, origin, 'Browser/3.0 (e2e)')
    await signIn(page, username)
    await rows(page, 1)

    await page.reload()
    t.ok(await page.getByRole('button', { name: 'Sign in' }).isVisible())
    t.notOk(await page.locator('table').isVisible())
  })
})
