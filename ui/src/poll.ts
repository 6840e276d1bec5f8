// Live updates by polling (chosen over server-sent events: no second API, no
// long-lived connection to close on shutdown, and a 1.5 s delay is fine for an
// operator). The next poll is scheduled when the previous one has finished, so a slow
// gateway is never asked twice at once; polling stops when the component unmounts.
import { onMounted, onBeforeUnmount } from 'vue'

export const POLL_MS = 1500

export function usePoll(fn: () => Promise<void>, ms = POLL_MS): { now: () => Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let running: Promise<void> | undefined
  const run = async (): Promise<void> => {
    running ??= fn()
      .catch(() => {})
      .finally(() => {
        running = undefined
      })
    await running
    if (timer !== undefined) clearTimeout(timer)
    if (!stopped)
      timer = setTimeout(() => {
        void run()
      }, ms)
  }
  onMounted(() => {
    void run()
  })
  onBeforeUnmount(() => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
  })
  return { now: run }
}
