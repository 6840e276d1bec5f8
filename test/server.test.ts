// The real entry point: `npm start` refuses what it cannot serve, with one clear message.
import t from 'tap'
import { runChild, type ChildRun } from './helpers/child-process.ts'
import { MARIADB_LEGACY_URL } from './helpers/mariadb.ts'
import { startGatewayProcess } from './helpers/gateway-process.ts'
import { createTestDatabase } from './helpers/mariadb.ts'

async function runServer(env: Record<string, string>): Promise<ChildRun> {
  return await runChild(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PORT: '0', HOST: '127.0.0.1', ...env },
    timeoutMs: 30000
  })
}

t.test('invalid configuration stops the start naming every bad variable', async t => {
  const { code, output } = await runServer({ PORT: 'x', VECTOR_DIMENSION: '-1' })
  t.equal(code, 1)
  t.match(output, /Invalid configuration: .*PORT.*VECTOR_DIMENSION.*API_KEY is required/s)
})

t.test('a MariaDB without the VECTOR type is refused at start', async t => {
  const { code, output } = await runServer({ AUTH_DISABLED: 'true', MARIADB_URL: MARIADB_LEGACY_URL })
  if (/Cannot reach MariaDB/.test(output)) return t.pass('no MariaDB 10.x on this machine to test against')
  t.equal(code, 1)
  t.match(output, /10\.\d+/, 'names the version found')
  t.match(output, /11\.7|VECTOR/, 'says what is needed')
})

t.test('an unreachable MariaDB is refused at start, naming it', async t => {
  const { code, output } = await runServer({ AUTH_DISABLED: 'true', MARIADB_URL: 'mariadb://root@127.0.0.1:1/none' })
  t.equal(code, 1)
  t.match(output, /Cannot reach MariaDB at mariadb:\/\/root@127\.0\.0\.1:1\/none/)
})

t.test('npm start serves /health on a working configuration', async t => {
  const db = await createTestDatabase(t)
  const gw = await startGatewayProcess({ AUTH_DISABLED: 'true', MARIADB_URL: db.url }, t)
  const res = await fetch(`${gw.url}/health`)
  t.same(await res.json(), { status: 'ok', provider: 'mariadb', mariadb: 'connected', qdrant: 'not_configured' })
  await gw.kill('SIGTERM')
  t.equal(gw.child.exitCode, 0, 'SIGTERM closes gracefully')
})
