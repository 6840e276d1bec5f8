// Is the MariaDB server the gateway writes to one where migrations are safe?
//
// A migration serialises each user's batch copy with that user's live writes
// through MariaDB named locks (GET_LOCK, see user-locks.ts). Named locks live in
// ONE server's memory: they are not replicated, neither to asynchronous replicas
// nor across a Galera cluster. So the serialisation holds only when every
// gateway replica writes to the same server. Supported:
// - one primary, with or without asynchronous read replicas; every gateway
//   connects to the primary (MARIADB_URL), never to a replica;
// - Galera with a single writer node: every gateway connects to the same node
//   (directly, or through a proxy that sends all writes to one node). The server
//   cannot prove that, so the operator states it with MARIADB_GALERA_SINGLE_WRITER=true.
// Refused at migration start (409 VG_UNSAFE_TOPOLOGY):
// - a read-only server (read_only or innodb_read_only not OFF): a replica or a
//   primary being failed over; the gateway must connect to the writable primary;
// - a running replica (replication SQL thread on, status Slave_running=ON):
//   writes there diverge from the primary and its locks are not the primary's;
// - Galera (wsrep_on=ON) with more than one node in the cluster and no
//   single-writer statement: replicas writing to different nodes would each take
//   "the" user lock on their own node, and a live write could be overwritten.
// The decision is a pure function of the server's variables (tested table-driven);
// readServerTopology is the one place that reads them.
import type { Pool } from 'mariadb'
import { UnsafeTopologyError } from '../errors.ts'

export interface ServerTopology {
  /** @@global.read_only: OFF, ON, or (11.x) NO_LOCK / NO_LOCK_NO_ADMIN, all of which refuse writes */
  readOnly: string
  innodbReadOnly: string
  wsrepOn: string
  /** status wsrep_cluster_size (0 when Galera is off) */
  wsrepClusterSize: number
  /** status Slave_running: ON while this server replicates from a primary */
  replicaRunning: string
}

export type TopologyDecision = { safe: true; description: string } | { safe: false; reason: string }

export interface TopologyPolicy {
  /** the operator states that every gateway writes to one Galera node (MARIADB_GALERA_SINGLE_WRITER) */
  galeraSingleWriter: boolean
}

const on = (value: string): boolean => value.toUpperCase() !== 'OFF'

export function decideTopology(s: ServerTopology, policy: TopologyPolicy): TopologyDecision {
  if (on(s.readOnly) || on(s.innodbReadOnly)) {
    return {
      safe: false,
      reason:
        `the MariaDB server is read-only (read_only=${s.readOnly}, innodb_read_only=${s.innodbReadOnly}): ` +
        'it is a replica or a primary being switched over. Point MARIADB_URL at the writable primary.'
    }
  }
  if (on(s.replicaRunning)) {
    return {
      safe: false,
      reason:
        'the MariaDB server is a running replica (Slave_running=ON): migration locks and writes must go to the primary. ' +
        'Point MARIADB_URL at the primary.'
    }
  }
  if (on(s.wsrepOn) && s.wsrepClusterSize > 1) {
    if (!policy.galeraSingleWriter) {
      return {
        safe: false,
        reason:
          `the MariaDB server is a node of a ${s.wsrepClusterSize}-node Galera cluster (wsrep_on=ON). Migrations serialise ` +
          'users with named locks (GET_LOCK), which Galera does not replicate, so every gateway must write to ONE node. ' +
          'If that is so (all MARIADB_URLs name the same node, or a proxy sends all writes to one node), set ' +
          'MARIADB_GALERA_SINGLE_WRITER=true; otherwise use a single primary.'
      }
    }
    return {
      safe: true,
      description: `Galera cluster of ${s.wsrepClusterSize} nodes, single writer node (MARIADB_GALERA_SINGLE_WRITER)`
    }
  }
  if (on(s.wsrepOn)) return { safe: true, description: 'Galera with one node' }
  return { safe: true, description: 'a writable primary' }
}

/** Reads the variables decideTopology needs (no privilege beyond a plain connection). */
export async function readServerTopology(pool: Pool): Promise<ServerTopology> {
  const variables = (await pool.query(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'innodb_read_only', 'wsrep_on')"
  )) as Array<{ Variable_name: string; Value: string }>
  const status = (await pool.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'Slave_running')"
  )) as Array<{ Variable_name: string; Value: string }>
  const v = new Map(variables.map(r => [r.Variable_name.toLowerCase(), String(r.Value)]))
  const st = new Map(status.map(r => [r.Variable_name.toLowerCase(), String(r.Value)]))
  return {
    readOnly: v.get('read_only') ?? 'OFF',
    innodbReadOnly: v.get('innodb_read_only') ?? 'OFF',
    // a server built without Galera support has no wsrep variables at all
    wsrepOn: v.get('wsrep_on') ?? 'OFF',
    wsrepClusterSize: Number(st.get('wsrep_cluster_size') ?? 0),
    replicaRunning: st.get('slave_running') ?? 'OFF'
  }
}

/** The migration start check: reads the server and throws UnsafeTopologyError when it is unsafe. */
export function topologyCheck(pool: Pool, policy: TopologyPolicy, read = readServerTopology): () => Promise<void> {
  return async () => {
    const decision = decideTopology(await read(pool), policy)
    if (!decision.safe) throw new UnsafeTopologyError(`Cannot start a migration: ${decision.reason}`)
  }
}
