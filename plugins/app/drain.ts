import fp from 'fastify-plugin'

/**
 * While the server closes, every answer also closes its connection. Otherwise a keep-alive
 * request answered during the close leaves an idle socket behind, the close waits on it,
 * and the process only ends when fastify-cli's grace delay runs out.
 */
export default fp(async function drain (fastify) {
  let closing = false
  fastify.addHook('preClose', async () => { closing = true })
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}, { name: 'drain' })
