// What reaches the gateway before a route runs: HTTP parser errors, charsets, BOMs,
// bytes that are not UTF-8 and strings that are not Unicode. Every answer has the
// {statusCode, code, error, message, request_id} shape and nothing is stored.
// Parser errors happen before Fastify sees a request, so they go over a raw socket.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { BODY_LIMIT_BYTES } from '../../src/app.ts'
import { buildTestGateway, DATA_KEY } from '../helpers/app.ts'
import { chunk } from '../helpers/chunks.ts'

interface RawAnswer {
  status: number
  headers: string
  body: Record<string, unknown>
}

async function rawRequest(port: number, request: string | Buffer): Promise<RawAnswer> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    socket.on('data', d => parts.push(d))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(parts).toString('utf8')
      const [head, ...rest] = text.split('\r\n\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      let body: Record<string, unknown>
      try {
        body = JSON.parse(rest.join('\r\n\r\n')) as Record<string, unknown>
      } catch {
        body = { unparsed: rest.join('') }
      }
      resolve({ status, headers: head, body })
    })
    socket.end(request)
  })
}

t.test('HTTP parser errors answer in the VG_ shape', async t => {
  const { app } = await buildTestGateway(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port

  const longUrl = await rawRequest(port, `GET /stats?user_id=1&x=${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  t.equal(longUrl.status, 431, 'an oversized URL is a 431')
  t.match(longUrl.body, {
    statusCode: 431,
    code: 'VG_HEADERS_TOO_LARGE',
    error: 'Request Header Fields Too Large',
    message: /URL and headers.*16 KiB/,
    request_id: String
  })

  const bigHeader = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`)
  t.match(bigHeader.body, { statusCode: 431, code: 'VG_HEADERS_TOO_LARGE' }, 'oversized headers too')

  const badLength = await rawRequest(
    port,
    `POST /search HTTP/1.1\r\nHost: x\r\nX-API-Key: ${DATA_KEY}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`
  )
  t.equal(badLength.status, 400)
  t.match(badLength.body, {
    statusCode: 400,
    code: 'VG_BAD_REQUEST',
    error: 'Bad Request',
    message: /Content-Length/,
    request_id: String
  })

  const garbage = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n')
  t.match(garbage.body, { statusCode: 400, code: 'VG_BAD_REQUEST', message: /HTTP/ }, 'a request line that is not HTTP')

  const ok = await rawRequest(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(ok.status, 200, 'the listener still serves well-formed requests')
})

t.test('bodies must be UTF-8 JSON: other charsets, a BOM and invalid bytes are refused', async t => {
  const { app, data } = await buildTestGateway(t)
  const body = JSON.stringify({ chunks: [chunk(1, 1, 0, { text: 'héllo' })] })
  const post = async (payload: string | Buffer, contentType: string) =>
    await app.inject({ method: 'POST', url: '/chunks', headers: { ...data, 'content-type': contentType }, payload })

  for (const charset of ['utf-16', 'UTF-16LE', 'iso-8859-1', '"latin1"']) {
    const res = await post(body, `application/json; charset=${charset}`)
    t.equal(res.statusCode, 415, `charset=${charset} is refused`)
    t.match(res.json(), { code: 'VG_UNSUPPORTED_MEDIA_TYPE', message: /UTF-8/ })
  }
  const withBom = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]), 'application/json')
  t.match(withBom.json(), { statusCode: 400, code: 'VG_INVALID_JSON', message: /byte order mark.*remove it/ })

  const latin1 = Buffer.from(body.replace('héllo', 'h\u00e9llo'), 'latin1') // é as the single byte 0xE9
  const invalid = await post(latin1, 'application/json')
  t.match(invalid.json(), {
    statusCode: 400,
    code: 'VG_BAD_REQUEST',
    message: /not valid UTF-8.*byte 0xe9 at offset \d+/
  })

  t.equal((await app.inject({ url: '/stats?user_id=1', headers: data })).json().total_chunks, 0, 'nothing was stored')

  for (const ct of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
    t.equal((await post(body, ct)).statusCode, 200, `${ct} is accepted`)
  }
  const listed = await app.inject({ url: '/chunks?user_id=1&file_id=1', headers: data })
  t.equal(listed.json().chunks[0].text, 'héllo', 'UTF-8 text round-trips')

  // an all-ASCII body (read as latin1, the fast path) with \u escapes means the same text
  const escaped = JSON.stringify({ chunks: [chunk(1, 2, 0, { text: 'café 🎉' })] }).replace(
    /[\u0080-\uffff]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
  t.ok(
    Buffer.from(escaped).every(b => b < 0x80),
    'the body is ASCII'
  )
  t.equal((await post(escaped, 'application/json')).statusCode, 200)
  const ascii = await app.inject({ url: '/chunks?user_id=1&file_id=2', headers: data })
  t.equal(ascii.json().chunks[0].text, 'café 🎉', 'escaped text round-trips')
})

t.test('texts that are not well-formed Unicode are refused naming the chunk', async t => {
  const { app, data } = await buildTestGateway(t, { qdrant: true })
  const good = JSON.stringify(chunk(3, 7, 0, { text: 'fine' }))
  for (const escape of ['\\ud800', 'a\\udfffb', 'x\\ud83d']) {
    const bad = JSON.stringify(chunk(3, 7, 1, { text: 'PLACEHOLDER' })).replace('PLACEHOLDER', escape)
    const res = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers: { ...data, 'content-type': 'application/json' },
      payload: `{"chunks":[${good},${bad}]}`
    })
    t.match(
      res.json(),
      {
        statusCode: 400,
        code: 'VG_BAD_REQUEST',
        message: /chunk 3\/7\/1: text.*not well-formed Unicode.*lone surrogate/
      },
      `${escape} is refused`
    )
  }
  const paired = JSON.stringify(chunk(3, 7, 2, { text: 'PLACEHOLDER' })).replace('PLACEHOLDER', '\\ud83d\\ude00')
  const ok = await app.inject({
    method: 'POST',
    url: '/chunks',
    headers: { ...data, 'content-type': 'application/json' },
    payload: `{"chunks":[${paired}]}`
  })
  t.equal(ok.statusCode, 200, 'a proper surrogate pair (an emoji) is fine')
  const stats = await app.inject({ url: '/stats?user_id=3', headers: data })
  t.equal(stats.json().total_chunks, 1, 'only the valid request stored anything')
})

t.test('bodies read at the same time stay apart, and an oversized one is a 413 before it is read', async t => {
  const { app, data } = await buildTestGateway(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port

  // two uploads of ~300 KB, each sent in three parts, alternating, so the gateway holds
  // part of both bodies before either ends (body-buffer.ts lends one shared buffer)
  const bodyOf = (user: number, letter: string) =>
    Buffer.from(
      JSON.stringify({
        chunks: Array.from({ length: 30 }, (_, i) => chunk(user, 1, i, { text: `${letter}${i} `.repeat(2000) }))
      })
    )
  const bodies = [bodyOf(41, 'a'), bodyOf(42, 'b')]
  const answers: Array<Promise<number>> = []
  const requests = bodies.map(body => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/chunks',
      headers: { ...data, 'content-type': 'application/json', 'content-length': String(body.length) }
    })
    answers.push(
      new Promise((resolve, reject) => {
        req.on('response', res => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
      })
    )
    return req
  })
  for (let part = 0; part < 3; part++) {
    for (const [i, req] of requests.entries()) {
      const third = Math.ceil(bodies[i].length / 3)
      req.write(bodies[i].subarray(part * third, (part + 1) * third))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  for (const req of requests) req.end()
  t.same(await Promise.all(answers), [200, 200], 'both uploads stored')
  for (const [user, letter] of [
    [41, 'a'],
    [42, 'b']
  ] as const) {
    const listed = (await app.inject({ url: `/chunks?user_id=${user}&file_id=1`, headers: data })).json().chunks
    t.equal(listed.length, 30)
    t.ok(
      listed.every((c: { text: string; chunk_index: number }) => c.text === `${letter}${c.chunk_index} `.repeat(2000)),
      `user ${user} holds its own texts, byte for byte`
    )
  }

  const tooLarge = await rawRequest(
    port,
    `POST /chunks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${DATA_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LIMIT_BYTES + 1}\r\nConnection: close\r\n\r\n{}`
  )
  t.equal(tooLarge.status, 413)
  t.match(tooLarge.body, {
    code: 'VG_PAYLOAD_TOO_LARGE',
    message: `Request body is larger than ${BODY_LIMIT_BYTES} bytes; send fewer chunks per request`
  })
})
