// The "bare HTTP" baseline of issue 9 §1/§3: a minimal Fastify process answering
// POST /search with a fixed body of a given size, after parsing the request body as
// JSON (as the gateway must). The size is RESPONSE_BYTES, or `?bytes=N` on the request
// (section A's cells answer different sizes). Started as a child process by
// startBareHttp() (bench/harness.ts).
//   node --import tsx bench/bare-http.ts PORT RESPONSE_BYTES
import Fastify from 'fastify'

const port = Number(process.argv[2])
const answers = new Map<number, string>()
/** a JSON answer of `size` bytes, made once per size */
function answer(size: number): string {
  let a = answers.get(size)
  if (a === undefined) answers.set(size, (a = JSON.stringify({ results: [], pad: 'x'.repeat(Math.max(0, size - 23)) })))
  return a
}
const defaultSize = Number(process.argv[3])
const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 })
app.post<{ Querystring: { bytes?: string } }>(
  '/search',
  async (req, reply) =>
    await reply
      .type('application/json')
      .send(answer(req.query.bytes === undefined ? defaultSize : Number(req.query.bytes)))
)
await app.listen({ host: '127.0.0.1', port })
process.stdout.write(`listening ${port}\n`)
