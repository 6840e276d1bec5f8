// Small display helpers shared by the views.
export const number = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : n.toLocaleString('en-US')

export function time(iso: string | null): string {
  if (iso === null) return '—'
  const d = new Date(iso)
  return d.toLocaleString('en-GB', {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  })
}

export function duration(seconds: number | null): string {
  if (seconds === null) return '—'
  if (seconds < 60) return `${seconds} s`
  const m = Math.floor(seconds / 60)
  if (m < 60) return `${m} min ${seconds % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}
