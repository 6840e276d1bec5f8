// The migration lifecycle as an explicit state machine. Every status change, by
// an admin (pause, resume, cancel, retry) or by the runner (complete, fail), goes
// through `transition()`: an action that is not allowed from the current state
// is refused (409 VG_INVALID_STATE) and changes nothing.
//
//   running --pause--> paused --resume--> running
//   running|paused --cancel--> cancelled            (terminal)
//   running --complete--> completed                  (terminal: every user verified)
//   running --fail--> failed --retry--> running      (failed: at least one user failed)
//
// A user row has its own, simpler life: pending -> in_progress -> completed | failed;
// retry puts failed users back to pending (and their checkpoint back to the start).

export const MIGRATION_STATES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const
export type MigrationState = (typeof MIGRATION_STATES)[number]

export const USER_STATES = ['pending', 'in_progress', 'completed', 'failed'] as const
export type UserMigrationState = (typeof USER_STATES)[number]

export type AdminAction = 'pause' | 'resume' | 'cancel' | 'retry'
type RunnerAction = 'complete' | 'fail'
export type MigrationAction = AdminAction | RunnerAction

export const TRANSITIONS: Readonly<Record<MigrationAction, { from: readonly MigrationState[]; to: MigrationState }>> = {
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  cancel: { from: ['running', 'paused'], to: 'cancelled' },
  retry: { from: ['failed'], to: 'running' },
  complete: { from: ['running'], to: 'completed' },
  fail: { from: ['running'], to: 'failed' }
}

/** States in which a migration occupies the gateway: no other one may start. */
export const OCCUPYING_STATES: readonly MigrationState[] = ['running', 'paused']

/** States in which no runner works on a migration any more (completed and cancelled are terminal; failed may be retried). */
export const FINISHED_STATES: readonly MigrationState[] = ['completed', 'failed', 'cancelled']

function canTransition(from: MigrationState, action: MigrationAction): boolean {
  return TRANSITIONS[action].from.includes(from)
}

/** The state `action` leads to from `from`, or null when it is not allowed. */
export function nextState(from: MigrationState, action: MigrationAction): MigrationState | null {
  return canTransition(from, action) ? TRANSITIONS[action].to : null
}

export function describeRefusal(id: number, from: MigrationState, action: MigrationAction): string {
  const allowed = TRANSITIONS[action].from.join(' or ')
  return `Cannot ${action} migration ${id}: it is ${from}; ${action} is allowed only when it is ${allowed}`
}
