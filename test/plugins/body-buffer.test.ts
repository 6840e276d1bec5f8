// The JSON body reader: limits and Content-Length are enforced while reading, and the
// buffer lent to the parser holds exactly this body's bytes, whatever came before.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { BodyBuffer, SCRATCH_MAX_BYTES, receiveBody } from '../../src/plugins/body-buffer.ts'

function streamOf(parts: Array<Buffer | string>, err?: Error): PassThrough {
  const s = new PassThrough()
  setImmediate(() => {
    for (const p of parts) s.write(p)
    if (err === undefined) s.end()
    else s.destroy(err)
  })
  return s
}

t.test('receiveBody reads every chunk and checks the limit and the declared length', async t => {
  const body = await receiveBody(streamOf(['{"a":', Buffer.from('1}')]), '7', 100)
  t.equal(Buffer.concat(body.chunks).toString(), '{"a":1}')
  t.equal(body.length, 7)
  t.equal((await receiveBody(streamOf(['x'.repeat(50)]), undefined, 100)).length, 50, 'no Content-Length is fine')

  await t.rejects(receiveBody(streamOf([]), '101', 100), { code: 'VG_PAYLOAD_TOO_LARGE', statusCode: 413 })
  await t.rejects(receiveBody(streamOf(['x'.repeat(60), 'y'.repeat(41)]), undefined, 100), {
    code: 'VG_PAYLOAD_TOO_LARGE',
    message: /larger than 100 bytes/
  })
  await t.rejects(receiveBody(streamOf(['abc']), '4', 100), {
    code: 'VG_BAD_REQUEST',
    message: 'Request body has 3 bytes but Content-Length says 4'
  })
  await t.rejects(receiveBody(streamOf(['ab'], new Error('aborted')), undefined, 100), {
    message: 'aborted',
    statusCode: 400
  })
})

t.test('BodyBuffer lends exactly the body, reusing its buffer only below the cap', async t => {
  const bodies = new BodyBuffer()
  const of = (...parts: string[]) => ({
    chunks: parts.map(p => Buffer.from(p)),
    length: parts.reduce((n, p) => n + p.length, 0)
  })
  const seen: Buffer[] = []
  t.equal(
    bodies.use(of('x'.repeat(3000), 'y'.repeat(3000)), b => {
      seen.push(b)
      return b.toString()
    }),
    'x'.repeat(3000) + 'y'.repeat(3000)
  )
  t.equal(
    bodies.use(of('ab', 'cd'), b => {
      seen.push(b)
      return b.toString()
    }),
    'abcd',
    'a smaller body after a larger one: only its own bytes'
  )
  t.equal(seen[0].buffer, seen[1].buffer, 'the second body reused the first one’s buffer')
  t.equal(
    bodies.use(of('single'), b => b.toString()),
    'single',
    'one chunk is lent as it is'
  )
  const big = 'z'.repeat(SCRATCH_MAX_BYTES / 2 + 1)
  const lent = bodies.use(of(big, big), b => b)
  t.equal(lent.length, SCRATCH_MAX_BYTES + 2)
  t.not(lent.buffer, seen[0].buffer, 'a body over the cap gets a buffer of its own')
})
