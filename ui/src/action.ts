// An admin action and the one-line message under its control: what it did, or why
// the gateway refused it.
import { ref, type Ref } from 'vue'
import type { ApiError } from './api.ts'

export interface Message {
  kind: 'ok' | 'error'
  text: string
}

export interface Action {
  message: Ref<Message | null>
  /** true while `run` waits for the gateway */
  busy: Ref<boolean>
  /**
   * Runs `act`, which answers the text to show; when the gateway refuses, shows
   * `refused(its message)` instead. Answers whether the action succeeded.
   */
  run(act: () => Promise<string>, refused: (reason: string) => string): Promise<boolean>
}

export function useAction(): Action {
  const message = ref<Message | null>(null)
  const busy = ref(false)
  const run = async (act: () => Promise<string>, refused: (reason: string) => string): Promise<boolean> => {
    busy.value = true
    try {
      message.value = { kind: 'ok', text: await act() }
      return true
    } catch (err) {
      message.value = { kind: 'error', text: refused((err as ApiError).message) }
      return false
    } finally {
      busy.value = false
    }
  }
  return { message, busy, run }
}
