// The "bare HTTP" baseline of issue 9 §1/§3: a minimal Fastify process answering
// POST /search with a fixed body of a given size, after parsing the request body as
// JSON (as the gateway must). Started as a child process by startBareHttp() (bench/harness.ts).
//   node --import tsx bench/bare-http.ts PORT RESPONSE_BYTES
import Fastify from 'fastify'

const port = Number(process.argv[2])
const size = Number(process.argv[3])
const answer = JSON.stringify({ results: [], pad: 'x'.repeat(Math.max(0, size - 24)) })
const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 })
app.post('/search', async (_req, reply) => await reply.type('application/json').send(answer))
await app.listen({ host: '127.0.0.1', port })
process.stdout.write(`listening ${port}\n`)
