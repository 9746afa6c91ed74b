export interface BenchUser {
  username: string
  password: string
  access: string
  /** The user's latest refresh token; the refresh scenario replaces it as it rotates. */
  refresh: string
}

const PASSWORD = 'bench password, not a secret'
// argon2 runs on libuv's 4 threads: a few more requests than that keep them all busy.
const CONCURRENCY = 8

async function post (baseUrl: string, path: string, body: object, expected: number) {
  const res = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000)
  })
  const text = await res.text()
  if (res.status !== expected) throw new Error(`POST ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

async function createUser (baseUrl: string, n: number): Promise<BenchUser> {
  const username = `bench-${String(n).padStart(6, '0')}`
  const credentials = { username, password: PASSWORD }
  await post(baseUrl, '/auth/register', credentials, 201)
  const pair = await post(baseUrl, '/auth/login', credentials, 200)
  return {
    username,
    password: PASSWORD,
    access: String(pair.access_token),
    refresh: String(pair.refresh_token)
  }
}

/** Registers `count` users through latch's API and logs each in once. */
export async function createUsers (baseUrl: string, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      const n = next++
      users[n] = await createUser(baseUrl, n)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return users
}
