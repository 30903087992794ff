'use strict'
// Self and inclusive time per function in a .cpuprofile (node --cpu-prof), limited to a
// time window in µs of the monotonic clock (process.hrtime.bigint() / 1000n), e.g. the
// window between a profile.stop() call and its report.
//
//   node bench/analysis/cpuprofile-window.js CPU.xxx.cpuprofile <t0 µs> <t1 µs> [top]

const fs = require('node:fs')

const [file, a, b, top = 25] = process.argv.slice(2)
const p = JSON.parse(fs.readFileSync(file, 'utf8'))
const t0 = Number(a ?? -Infinity)
const t1 = Number(b ?? Infinity)
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const name = (n) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`

const self = new Map()
const inclusive = new Map()
let total = 0
let t = p.startTime
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i]
  if (t < t0 || t > t1) continue
  const dt = p.timeDeltas[i + 1] ?? 0 // the time until the next sample
  total += dt
  const leaf = name(byId.get(p.samples[i]))
  self.set(leaf, (self.get(leaf) ?? 0) + dt)
  const seen = new Set()
  for (let id = p.samples[i]; id; id = parent.get(id)) {
    const k = name(byId.get(id))
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
  }
}
const list = (m) =>
  [...m]
    .sort((x, y) => y[1] - x[1])
    .slice(0, Number(top))
    .map(([k, us]) => `${(us / 1000).toFixed(2).padStart(8)} ms  ${k}`)
    .join('\n')
console.log(`window ${((t1 - t0) / 1000).toFixed(1)} ms, ${(total / 1000).toFixed(1)} ms sampled`)
console.log(`self:\n${list(self)}\ninclusive:\n${list(inclusive)}`)
