// MariaDB topologies (issue 10 §4): migrations serialise users with named locks,
// which are local to one server, so a migration refuses to start on a server where
// that cannot hold. Three parts:
// 1. the real test server (MariaDB 11.8, a standalone writable primary): the
//    variables as read, and the decision "safe";
// 2. SYNTHETIC variable sets (not read from a server; Galera, replicas and
//    read-only servers cannot be run here, and the shared test server's global
//    variables must not be changed) through the pure decision function;
// 3. the refusal through the API: 409 VG_UNSAFE_TOPOLOGY and nothing created,
//    with the server's answer replaced by a synthetic Galera variable set.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { admin, requestMigration } from '../helpers/migration.ts'
import {
  decideTopology,
  readServerTopology,
  topologyCheck,
  type ServerTopology
} from '../../src/migration/server-topology.ts'
import type { MigrationServiceOptions } from '../../src/migration/migration-service.ts'

const PRIMARY: ServerTopology = {
  readOnly: 'OFF',
  innodbReadOnly: 'OFF',
  wsrepOn: 'OFF',
  wsrepClusterSize: 0,
  replicaRunning: 'OFF'
}

t.test('the real test server: variables as read, and safe', async t => {
  const db = await createTestDatabase(t)
  const topology = await readServerTopology(db.pool)
  const [row] = (await db.pool.query(
    'SELECT @@global.read_only AS ro, @@global.innodb_read_only AS iro, @@global.wsrep_on AS wsrep'
  )) as Array<Record<string, unknown>>
  const onOff = (v: unknown): string =>
    v === 1 || v === 1n || v === '1' || v === 'ON'
      ? 'ON'
      : v === 0 || v === 0n || v === '0' || v === 'OFF'
        ? 'OFF'
        : String(v)
  t.equal(topology.readOnly, onOff(row.ro), 'read_only as SELECT @@global.read_only says')
  t.equal(topology.innodbReadOnly, onOff(row.iro), 'innodb_read_only')
  t.equal(topology.wsrepOn, onOff(row.wsrep), 'wsrep_on')
  t.same(topology, PRIMARY, 'the test server is a standalone writable primary')
  t.same(decideTopology(topology, { galeraSingleWriter: false }), { safe: true, description: 'a writable primary' })
  await t.resolves(topologyCheck(db.pool, { galeraSingleWriter: false })(), 'the migration start check passes')
})

t.test('decision table (synthetic variable sets, not read from a server)', async t => {
  const cases: Array<{
    label: string
    vars: Partial<ServerTopology>
    singleWriter?: boolean
    safe: boolean
    reason?: RegExp
  }> = [
    { label: 'standalone primary', vars: {}, safe: true },
    { label: 'primary with replicas (the primary itself replicates from nobody)', vars: {}, safe: true },
    {
      label: 'read-only server (read_only=ON)',
      vars: { readOnly: 'ON' },
      safe: false,
      reason: /read-only \(read_only=ON.*writable primary/
    },
    {
      label: 'read_only=NO_LOCK (MariaDB 11 enum value)',
      vars: { readOnly: 'NO_LOCK' },
      safe: false,
      reason: /read-only/
    },
    { label: 'innodb_read_only=ON', vars: { innodbReadOnly: 'ON' }, safe: false, reason: /innodb_read_only=ON/ },
    {
      label: 'running replica, writable',
      vars: { replicaRunning: 'ON' },
      safe: false,
      reason: /running replica.*primary/
    },
    {
      label: 'replica with read_only=ON',
      vars: { replicaRunning: 'ON', readOnly: 'ON' },
      safe: false,
      reason: /read-only/
    },
    {
      label: 'Galera, 3 nodes, no single-writer statement',
      vars: { wsrepOn: 'ON', wsrepClusterSize: 3 },
      safe: false,
      reason: /3-node Galera.*MARIADB_GALERA_SINGLE_WRITER=true/
    },
    {
      label: 'Galera, 3 nodes, single writer stated',
      vars: { wsrepOn: 'ON', wsrepClusterSize: 3 },
      singleWriter: true,
      safe: true
    },
    {
      label: 'Galera, 3 nodes, single writer stated, but this node is read-only',
      vars: { wsrepOn: 'ON', wsrepClusterSize: 3, readOnly: 'ON' },
      singleWriter: true,
      safe: false,
      reason: /read-only/
    },
    { label: 'Galera with one node', vars: { wsrepOn: 'ON', wsrepClusterSize: 1 }, safe: true },
    { label: 'Galera provider loaded but wsrep_on=OFF', vars: { wsrepOn: 'OFF', wsrepClusterSize: 3 }, safe: true }
  ]
  for (const c of cases) {
    const d = decideTopology({ ...PRIMARY, ...c.vars }, { galeraSingleWriter: c.singleWriter ?? false })
    t.equal(d.safe, c.safe, c.label)
    if (!d.safe && c.reason !== undefined) t.match(d.reason, c.reason, `${c.label}: says why and what to do`)
  }
})

t.test(
  'POST /admin/vector-storage/migrations on an unsafe topology: 409 VG_UNSAFE_TOPOLOGY, nothing created',
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true })
    // the server's answer replaced by a synthetic 3-node Galera variable set (see the header)
    const options = (gw.app.migrations as unknown as { options: MigrationServiceOptions }).options
    t.type(options.checkTopology, 'function', 'the app wires a topology check into migration start')
    options.checkTopology = topologyCheck(gw.db.pool, { galeraSingleWriter: false }, async () => ({
      ...PRIMARY,
      wsrepOn: 'ON',
      wsrepClusterSize: 3
    }))
    const res = await requestMigration(gw.app, { from: 'mariadb', to: 'qdrant' })
    t.equal(res.statusCode, 409)
    t.equal(res.json().code, 'VG_UNSAFE_TOPOLOGY')
    t.match(res.json().message, /Cannot start a migration: the MariaDB server is a node of a 3-node Galera cluster/)
    const list = await gw.app.inject({ url: '/admin/vector-storage/migrations', headers: admin })
    t.equal(list.json().total, 0, 'no migration was created')

    // with the real server's answer (the default reader) the same request starts a migration
    options.checkTopology = topologyCheck(gw.db.pool, { galeraSingleWriter: false })
    const ok = await requestMigration(gw.app, { from: 'mariadb', to: 'qdrant' })
    t.equal(ok.statusCode, 202)
  }
)
