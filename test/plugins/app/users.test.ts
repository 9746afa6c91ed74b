import t from 'tap'
import { normaliseUsername } from '../../../plugins/app/users/username.js'
import { build, uniqueName, PASSWORD } from '../../helpers/app.js'

t.test('normaliseUsername maps look-alikes to one form', async (t) => {
  t.equal(normaliseUsername('Alice'), 'alice')
  t.equal(normaliseUsername('ALICE'), 'alice')
  t.equal(normaliseUsername('\uff21\uff4c\uff49\uff43\uff45'), 'alice', 'full-width letters')
  t.equal(normaliseUsername('ﬁona'), 'fiona', 'a ligature')
  t.equal(normaliseUsername('Ångström'), normaliseUsername('A\u030angstro\u0308m'), 'decomposed')
  t.equal(normaliseUsername('jürgen_2'), 'jürgen_2')
  t.equal(normaliseUsername('名前です'), '名前です')
})

t.test('normaliseUsername refuses what cannot be a name', async (t) => {
  const refused = [
    '', 'ab', 'x'.repeat(33), 'zero\u200bwidth', 'join\u200dme', 'rtl\u202eevil', 'tab\tname',
    'new\nline', 'sp ace', '.dot', '-dash', 'semi;colon', 'brace{x}', 'at@host', 'nul\u0000x'
  ]
  for (const name of refused) t.equal(normaliseUsername(name), null, JSON.stringify(name))
})

t.test('user store', async (t) => {
  const server = await build(t)
  const { users } = server

  t.test('register then authenticate', async (t) => {
    const name = uniqueName('Carol')
    const user = await users.register(name, PASSWORD)
    t.match(await users.authenticate(name.toUpperCase(), PASSWORD), { ...user, credential: String })
    t.equal(await users.authenticate(name, 'wrong password'), null)
    t.equal(await users.authenticate(uniqueName('nobody'), PASSWORD), null)
    t.equal(await users.authenticate('bad\u200bname', PASSWORD), null)
  })

  t.test('the password is stored as an argon2id hash', async (t) => {
    const user = await users.register(uniqueName(), PASSWORD)
    const stored = await server.cluster.hget(server.keys.user(user.id), 'password')
    t.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    t.notMatch(stored, PASSWORD)
  })

  t.test('only one of two concurrent registrations of a name wins', async (t) => {
    const name = uniqueName()
    const results = await Promise.allSettled([
      users.register(name, PASSWORD), users.register(name.toUpperCase(), 'other password')
    ])
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    t.match(results.find((r) => r.status === 'rejected'), { reason: { code: 'USERNAME_TAKEN' } })
  })
})
