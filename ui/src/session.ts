// The operator's session: the admin key and their name, kept in sessionStorage only
// (gone when the tab closes; never a cookie, localStorage or a URL).
import { reactive } from 'vue'

const KEY = 'vg-admin-key'
const ACTOR = 'vg-admin-actor'

export const session = reactive({
  key: sessionStorage.getItem(KEY) ?? '',
  actor: sessionStorage.getItem(ACTOR) ?? ''
})

export function signIn(key: string, actor: string): void {
  session.key = key
  session.actor = actor
  sessionStorage.setItem(KEY, key)
  sessionStorage.setItem(ACTOR, actor)
}

export function signOut(): void {
  session.key = ''
  session.actor = ''
  sessionStorage.removeItem(KEY)
  sessionStorage.removeItem(ACTOR)
}
