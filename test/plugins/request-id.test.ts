// Request ids: taken from X-Request-Id when it is sane, generated otherwise, echoed
// as a response header, put in every error answer and in every request log line.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { captureLog } from '../helpers/log-capture.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('a sane X-Request-Id is used, echoed, and named in error answers and log lines', async t => {
  const log = captureLog()
  const { app, data } = await buildTestGateway(t, { logger: log.logger })

  const ok = await app.inject({ url: '/stats?user_id=1', headers: { ...data, 'x-request-id': 'client-42.a:b_c' } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-request-id'], 'client-42.a:b_c', 'echoed on success')

  const bad = await app.inject({ url: '/stats?user_id=0', headers: { ...data, 'x-request-id': 'trace-7' } })
  t.match(bad.json(), { statusCode: 400, code: 'VG_BAD_REQUEST', request_id: 'trace-7' })
  t.equal(bad.headers['x-request-id'], 'trace-7')

  const unauth = await app.inject({ url: '/stats?user_id=1', headers: { 'x-request-id': 'trace-8' } })
  t.match(unauth.json(), { statusCode: 401, request_id: 'trace-8' }, 'auth refusals carry it too')
  const missing = await app.inject({ url: '/nowhere', headers: { ...data, 'x-request-id': 'trace-9' } })
  t.match(missing.json(), { statusCode: 404, code: 'VG_NOT_FOUND', request_id: 'trace-9' }, '404s carry it too')

  const mine = log.lines.filter(l => l.reqId === 'trace-7')
  t.ok(mine.length >= 2, 'several log lines carry the id (incoming, rejected, completed)')
  t.ok(
    mine.some(l => l.msg === 'request rejected'),
    'the rejection is logged with the id'
  )
  const requestLines = log.lines.filter(l => l.req !== undefined || l.res !== undefined || l.msg === 'request rejected')
  t.ok(
    requestLines.length > 0 && requestLines.every(l => typeof l.reqId === 'string'),
    'every request log line has a reqId'
  )
})

t.test('an unusable X-Request-Id is replaced by a generated one', async t => {
  const { app, data } = await buildTestGateway(t)
  for (const sent of ['x'.repeat(129), 'has space', 'semi;colon', 'new\u00e9', '']) {
    const res = await app.inject({ url: '/stats?user_id=0', headers: { ...data, 'x-request-id': sent } })
    const id = res.json().request_id as string
    t.match(id, UUID, `${JSON.stringify(sent.slice(0, 20))} is replaced by a UUID`)
    t.equal(res.headers['x-request-id'], id)
  }
  const none = await app.inject({ url: '/stats?user_id=0', headers: data })
  t.match(none.json().request_id, UUID, 'no header: generated')
  const a = await app.inject({ url: '/stats?user_id=0', headers: data })
  t.not(a.json().request_id, none.json().request_id, 'each request gets its own id')
})
