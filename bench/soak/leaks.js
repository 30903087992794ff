'use strict'
// Leak check of ours under churn: (a) 2,000 create → profile → terminate cycles, (b)
// 100,000 messages round-tripping through pooled profiled workers, some inside a profile.
// Before and after each phase (and at each quarter of (a)): gc() repeatedly for a few
// seconds, then RSS, process.getActiveResourcesInfo() by type, listener counts, and our
// own bookkeeping (lib/hub sessions, the thread sampler, each worker's link; in (b) also
// the workers' own). Floors, measured the same way: (a0) plain Workers, (a1) plain Workers
// profiling themselves with node:inspector, (b0) the messages through plain Workers. Each
// phase runs in a fresh `node --expose-gc` child.
//
//   node bench/soak/leaks.js          (or: npm run bench:leaks)
//   node bench/soak/leaks.js --cycles 200 --messages 10000   (a shorter run)
//   node bench/soak/leaks.js --phase messages --profiled-every 0   (one phase, JSON out, re-runs
//       itself with --expose-gc if needed; phases: plain, inspector, ours, messages-plain,
//       messages; in (b) every Nth batch is sent inside a profile, 0: none)
//
// Figures only: MET/MISS lines against the targets, never an exit code for them. The exit
// code is non-zero only when a report is wrong (a worker thread missing from its profile).

const path = require('node:path')
const wt = require('node:worker_threads')
const { nextMessage, sleep, loadOurs } = require('../harness')

const ROOT = path.resolve(__dirname, '..', '..')
const CYCLES = 2000
const CONCURRENCY = 4 // workers alive at once in phase (a)
const MESSAGES = 100_000
const POOL = 4 // workers in phase (b)
const BATCH = 100 // messages per worker per batch in phase (b)
const PROFILED_EVERY = 10 // every 10th batch of (b) is sent from inside a profile
const WARMUP_CYCLES = 20
// RSS growth after GC may exceed the same run's floor (the same churn without us) by this
// much; judged in main(), where the floors' results are.
const RSS_BUDGET_MB = 20
const SETTLE_MS = 3500 // see settle()
const MB = 1e6

// ---------------------------------------------------------------------------------------
// Worker side (this same file as the worker's script).

function spin(ms) {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}

function countBy(items) {
  const out = {}
  for (const x of items) out[x] = (out[x] ?? 0) + 1
  return out
}

function workerMain() {
  const { mode } = wt.workerData
  if (mode === 'churn-inspector') {
    // The raw-inspector floor: profile this thread the way our sampler does underneath.
    const session = new (require('node:inspector').Session)()
    session.connect()
    session.post('Profiler.enable')
    session.post('Profiler.setSamplingInterval', { interval: 1000 })
    session.post('Profiler.start')
  }
  if (mode === 'churn' || mode === 'churn-inspector') {
    // Phase (a): report in, then CPU work in 2 ms slices until terminated.
    wt.parentPort.postMessage('ready')
    const slice = () => {
      spin(2)
      setImmediate(slice)
    }
    slice()
    return
  }
  // Phase (b): echo, plus our runtime's state on request.
  wt.parentPort.on('message', (m) => {
    if (m === 'stats') {
      // After this turn's own work (an Immediate of the message dispatch) is done.
      setTimeout(() => sendStats(), 20)
      return
    }
    let x = 0
    for (let i = 0; i < 200; i++) x += Math.sqrt(i + m.n)
    wt.parentPort.postMessage({ n: m.n, x })
  })
  function sendStats() {
    for (let i = 0; i < 3; i++) global.gc?.() // this isolate's heap: main's gc() is not ours
    const hubPath = require.resolve(path.join(ROOT, 'lib', 'thread', 'hub'))
    const hub = require.cache[hubPath]?.exports // loaded by our runtime only
    wt.parentPort.postMessage({
      stats: {
        sessions: hub ? hub.sessions.size : 0,
        samplerActive: hub ? hub.sampler.active.size : 0,
        samplerBackend: hub ? hub.sampler.backend !== null : false,
        exitListeners: process.listenerCount('exit'),
        messageListeners: wt.parentPort.listenerCount('message'),
        resources: countBy(process.getActiveResourcesInfo()),
      },
    })
  }
}

// ---------------------------------------------------------------------------------------
// Main side.

const turn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * Collect, then give the process time to hand memory back: gc() with turns between (napi
 * finalizers run then), repeated for SETTLE_MS. After worker churn RSS can stay flat for
 * seconds after a gc() and then drop in one step (memory released by a delayed task, not
 * by the collection itself), so a reading taken sooner carries that memory as noise.
 */
async function settle() {
  const end = Date.now() + SETTLE_MS
  while (Date.now() < end) {
    global.gc()
    await turn()
    await sleep(250)
  }
  global.gc()
  await turn()
}

function processListeners() {
  const out = {}
  for (const name of process.eventNames()) out[String(name)] = process.listenerCount(name)
  return out
}

async function snapshot(hub) {
  await settle()
  const mem = process.memoryUsage()
  return {
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    // Taken synchronously here, so the settle() timers above are gone.
    resources: countBy(process.getActiveResourcesInfo()),
    listeners: processListeners(),
    ours: hub
      ? {
          'hub.sessions': hub.sessions.size,
          'sampler.active': hub.sampler.active.size,
          'sampler backend': hub.sampler.backend === null ? 0 : 1,
        }
      : {},
  }
}

const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`
const signed = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)} MB`
const fmtCounts = (o) =>
  Object.keys(o).length
    ? Object.entries(o)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'none'
const sameCounts = (a, b) => fmtCounts(a) === fmtCounts(b)

/** The process's active resources and listeners are what they were `before`. */
function baselineTargets(target, tag, resourcesNote, before, after) {
  target(
    `${tag} active resources back to baseline${resourcesNote}`,
    sameCounts(before.resources, after.resources),
    fmtCounts(after.resources),
  )
  target(
    `${tag} process listeners back to baseline`,
    sameCounts(before.listeners, after.listeners),
    `exit ${after.listeners.exit ?? 0} (was ${before.listeners.exit ?? 0}), ${Object.keys(after.listeners).length} events`,
  )
}

/** Phase (a): create → (profile →) terminate, `n` cycles, CONCURRENCY at a time. */
async function churn({
  n,
  Worker,
  pw,
  kLink,
  mode = 'churn',
  check,
  checkpoints = [],
  onCheckpoint,
}) {
  const { AsyncResource } = require('node:async_hooks')
  const counters = { reportsChecked: 0, leftovers: 0, firstLeftover: null }
  async function cycle(i) {
    let w
    let profile = null
    if (pw) {
      // A profile of its own (a new async context), the worker created inside it; every
      // 4th also samples the main thread, so the main sampler starts and stops too.
      const ctx = new AsyncResource('leak-cycle')
      ctx.runInAsyncScope(() => {
        profile = pw.startProfile({ name: `cycle ${i}`, mainThread: i % 4 === 0 })
        w = new Worker(__filename, { workerData: { mode } })
      })
    } else {
      w = new Worker(__filename, { workerData: { mode } })
    }
    const threadId = w.threadId
    await nextMessage(w, 'its first message')
    await w.terminate()
    if (profile) {
      const report = await profile.stop()
      const t = report.thread(threadId)
      if (!t || t.status !== 'exited') {
        throw new Error(
          `cycle ${i}: worker thread ${threadId} ${t ? `status ${t.status} ${JSON.stringify(t.error)}` : 'missing'}`,
        )
      }
      counters.reportsChecked++
    }
    if (check) {
      // Left on the (now exited) worker: user listeners (ours removed themselves) and our link.
      const link = kLink ? w[kLink] : null
      const left = {
        message: w.listenerCount('message'),
        exit: w.listenerCount('exit'),
        error: w.listenerCount('error'),
        ...(link ? { 'link.sessions': link.sessions.size, 'link.waits': link.waits.size } : {}),
      }
      if (Object.values(left).some((v) => v !== 0)) {
        counters.leftovers++
        counters.firstLeftover ??= `cycle ${i}: ${fmtCounts(left)}`
      }
    }
  }
  // In stretches, so RSS can be read (after GC) at each checkpoint: a leak grows with the
  // cycle count, a one-time cost or allocator high-water mark levels off.
  let next = 0
  for (const end of [...checkpoints.filter((c) => c < n), n]) {
    const lane = async () => {
      while (next < end) await cycle(next++)
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane))
    if (onCheckpoint && end < n) await onCheckpoint(end)
  }
  return counters
}

/**
 * Phase (b): `total` round trips through a pool of POOL workers, after a warm-up of one
 * profiled and one plain batch. With `total` 0, only that warm-up, then the pool ends.
 */
async function roundTrips({ total, profiledEvery, Worker, PlainWorker, pw, kLink, hub, measure }) {
  const { AsyncResource } = require('node:async_hooks')
  const pool = []
  for (let i = 0; i < POOL; i++) {
    const w = new Worker(__filename, { workerData: { mode: 'echo' }, name: `echo-${i}` })
    // The user's listeners: one each, for the whole phase.
    const state = { pending: 0, resolve: null, stats: null }
    w.on('message', (m) => {
      if (m.stats) {
        state.stats(m.stats)
        return
      }
      if (--state.pending === 0) state.resolve()
    })
    w.on('error', (e) => {
      throw e
    })
    w.on('exit', () => {})
    pool.push({ w, state })
  }
  const statsOnce = (p) =>
    new Promise((resolve) => {
      p.state.stats = resolve
      p.w.postMessage('stats')
    })
  // Read twice, the second counts: right after a burst of messages the first reading can
  // still show an Immediate of Node's message dispatch; the second never has.
  const stats = (p) => statsOnce(p).then(() => statsOnce(p))

  let sent = 0
  let profiled = 0
  let profiles = 0
  let batchNo = 0
  async function batch() {
    // The first (warm-up) batch always; then every `profiledEvery`th (0: none).
    const inProfile =
      pw !== null && (batchNo === 0 || (profiledEvery > 0 && batchNo % profiledEvery === 0))
    batchNo++
    const send = () =>
      Promise.all(
        pool.map(
          (p) =>
            new Promise((resolve) => {
              p.state.pending = BATCH
              p.state.resolve = resolve
              for (let k = 0; k < BATCH; k++) p.w.postMessage({ n: sent++ })
            }),
        ),
      )
    if (!inProfile) return send()
    const ctx = new AsyncResource('leak-batch')
    const profile = ctx.runInAsyncScope(() => pw.startProfile({ name: `batch ${batchNo}` }))
    await ctx.runInAsyncScope(send)
    const report = await profile.stop()
    if (report.threads.length !== POOL + 1) {
      throw new Error(`batch ${batchNo}: ${report.threads.length} threads in the report`)
    }
    profiled += POOL * BATCH
    profiles++
  }

  // Warm-up: one profiled batch (loads the inspector and the addon in every worker) and
  // one plain one; then the "pool alive" baseline.
  await batch()
  await batch()
  if (total === 0) {
    await Promise.all(pool.map((p) => p.w.terminate()))
    return null
  }
  const warm = { sent, profiled, profiles }
  // What a plain worker running the same script shows (Node keeps one 'exit' listener of
  // its own in every worker, to flush stdio).
  const plain = new PlainWorker(__filename, { workerData: { mode: 'echo' } })
  const plainStats = await new Promise((resolve) => {
    plain.once('message', (m) => resolve(m.stats))
    plain.postMessage('stats')
  })
  await plain.terminate()
  // Worker stats first: answering them runs gc() in each worker, then the RSS reading.
  const workersBefore = await Promise.all(pool.map(stats))
  const before = await measure()
  while (sent - warm.sent < total) await batch()
  const workersAfter = await Promise.all(pool.map(stats))
  const after = await measure()
  const userListeners = pool.map((p) => ({
    message: p.w.listenerCount('message'),
    exit: p.w.listenerCount('exit'),
    error: p.w.listenerCount('error'),
  }))
  const links = pool.map((p) =>
    kLink ? { 'link.sessions': p.w[kLink].sessions.size, 'link.waits': p.w[kLink].waits.size } : {},
  )
  await Promise.all(pool.map((p) => p.w.terminate()))
  return {
    messages: sent - warm.sent, // the warm-up batches do not count
    profiled: profiled - warm.profiled,
    profiles: profiles - warm.profiles,
    before,
    after,
    workersBefore,
    workersAfter,
    userListeners,
    links,
    hubSessions: hub.sessions.size,
    plainStats,
  }
}

function phaseLines(out, name, before, after, extra = []) {
  out.push(name)
  out.push(
    `  RSS ${mb(before.rss)} → ${mb(after.rss)} (${signed(after.rss - before.rss)}); heap used ${signed(after.heapUsed - before.heapUsed)}; external ${signed(after.external - before.external)}`,
  )
  out.push(
    `  active resources: ${fmtCounts(before.resources)} → ${fmtCounts(after.resources)}${sameCounts(before.resources, after.resources) ? ' (same)' : ' (CHANGED)'}`,
  )
  out.push(
    `  process listeners: ${fmtCounts(before.listeners)} → ${fmtCounts(after.listeners)}${sameCounts(before.listeners, after.listeners) ? ' (same)' : ' (CHANGED)'}`,
  )
  if (Object.keys(after.ours).length) {
    out.push(`  ours (main thread): ${fmtCounts(before.ours)} → ${fmtCounts(after.ours)}`)
  }
  for (const l of extra) out.push(`  ${l}`)
}

/**
 * One phase, in a process of its own (so one phase's freed-but-kept memory cannot be
 * reused by, and hide the growth of, the next). Returns { out: lines, targets }.
 */
async function runPhase(phase, { cycles, messages, profiledEvery }) {
  const out = []
  const targets = []
  const target = (name, met, value, growth) => targets.push({ name, met, value, growth })
  const PlainWorker = wt.Worker
  const pw = await loadOurs()
  const hub = require(path.join(ROOT, 'lib', 'thread', 'hub'))
  const { kLink } = require(path.join(ROOT, 'lib', 'protocol'))
  const Worker = wt.Worker // patched
  if (Worker === PlainWorker) throw new Error('worker_threads.Worker is not patched')
  const measure = () => snapshot(hub)
  // process.stdout/stderr open their handles on first use (a worker's stdio is piped to
  // them): open them now, or the first reading misses a handle the later ones have.
  void process.stdout
  void process.stderr
  const t0 = Date.now()
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`

  if (!phase.startsWith('messages')) {
    // Churn: plain Workers (the floor), plain Workers profiling themselves with the raw
    // inspector (a second floor: what V8 and Node keep per profiled worker), or ours.
    const ours = phase === 'ours'
    const args = {
      Worker: ours ? Worker : PlainWorker,
      pw: ours ? pw : null,
      kLink: ours ? kLink : null,
      mode: phase === 'inspector' ? 'churn-inspector' : 'churn',
    }
    // Warm-up: the first workers load the inspector and the addon and JIT-compile our
    // code; RSS from that is a one-time cost, not a leak.
    await churn({ ...args, n: WARMUP_CYCLES })
    const before = await measure()
    const points = []
    const c = await churn({
      ...args,
      n: cycles,
      check: true,
      checkpoints: [1, 2, 3].map((q) => Math.round((cycles * q) / 4)),
      onCheckpoint: async (n) => {
        await settle()
        points.push(`${n}: ${signed(process.memoryUsage().rss - before.rss)}`)
      },
    })
    const after = await measure()
    const growth = after.rss - before.rss
    const title = {
      plain: `(a0) floor: ${cycles} plain Worker create → terminate cycles`,
      inspector: `(a1) floor: ${cycles} plain Worker cycles, each worker profiling itself with node:inspector (Profiler.start), terminated while profiling`,
      ours: `(a) ${cycles} ProfiledWorker create → profile → terminate-while-profiling cycles`,
    }[phase]
    phaseLines(out, `${title} (${CONCURRENCY} at a time), ${secs()}`, before, after, [
      `RSS after GC by cycles done: ${[...points, `${cycles}: ${signed(growth)}`].join(', ')}`,
      ...(ours
        ? [
            `reports checked (worker thread present, status 'exited'): ${c.reportsChecked} of ${cycles}`,
          ]
        : []),
      `exited workers with a listener${ours ? ' or link entry' : ''} left: ${c.leftovers}${c.firstLeftover ? ` (first: ${c.firstLeftover})` : ''}`,
    ])
    if (ours) {
      target(
        `(a) RSS growth after GC ≤ floor (a1) + ${RSS_BUDGET_MB} MB`,
        null,
        signed(growth),
        growth,
      )
      baselineTargets(target, '(a)', '', before, after)
      target(
        '(a) our state empty: hub.sessions, sampler, links',
        after.ours['hub.sessions'] === 0 &&
          after.ours['sampler.active'] === 0 &&
          after.ours['sampler backend'] === 0 &&
          c.leftovers === 0,
        `${fmtCounts(after.ours)}; ${c.leftovers} workers with leftovers`,
      )
    }
    return { out, targets, growth }
  }

  // (b) Messages through a pool. A first pool, warmed up and terminated, takes the
  // one-time costs (the inspector and addon loaded on each side, JIT) out of the figures.
  // (b0), the floor, does the same with plain Workers and no profiles.
  const plain = phase === 'messages-plain'
  const args = plain
    ? { Worker: PlainWorker, PlainWorker, pw: null, kLink: null, hub, measure, profiledEvery: 0 }
    : { Worker, PlainWorker, pw, kLink, hub, measure, profiledEvery }
  await roundTrips({ ...args, total: 0 })
  const before = await measure()
  const b = await roundTrips({ ...args, total: messages })
  const after = await measure()
  const alive = b.after.rss - b.before.rss
  const all = after.rss - before.rss
  if (plain) {
    phaseLines(
      out,
      `(b0) floor: ${b.messages} round trips through ${POOL} pooled plain Workers, ${secs()}`,
      before,
      after,
      [
        `with the pool alive (after warm-up → after the messages): RSS ${mb(b.before.rss)} → ${mb(b.after.rss)} (${signed(alive)}); heap used ${signed(b.after.heapUsed - b.before.heapUsed)}; external ${signed(b.after.external - b.before.external)}`,
      ],
    )
    return { out, targets, alive, all }
  }
  const workerState = (list) =>
    fmtCounts(
      Object.fromEntries(
        ['sessions', 'samplerActive', 'exitListeners', 'messageListeners'].map((k) => [
          k,
          Math.max(...list.map((x) => x[k])),
        ]),
      ),
    )
  const samplerBackends = (list) => list.filter((x) => x.samplerBackend).length
  phaseLines(
    out,
    `(b) ${b.messages} round trips through ${POOL} pooled ProfiledWorkers, ${b.profiled} of them inside ${b.profiles} profiles, ${secs()}`,
    before,
    after,
    [
      `with the pool alive (after warm-up → after the messages): RSS ${mb(b.before.rss)} → ${mb(b.after.rss)} (${signed(b.after.rss - b.before.rss)}); heap used ${signed(b.after.heapUsed - b.before.heapUsed)}; external ${signed(b.after.external - b.before.external)}`,
      `  active resources: ${fmtCounts(b.before.resources)} → ${fmtCounts(b.after.resources)}`,
      `  in the workers (max over ${POOL}): ${workerState(b.workersBefore)} → ${workerState(b.workersAfter)}; sampler backends kept ${samplerBackends(b.workersBefore)} → ${samplerBackends(b.workersAfter)} of ${POOL}; a plain worker: exitListeners ${b.plainStats.exitListeners}, messageListeners ${b.plainStats.messageListeners}`,
      `  worker resources (worker 0): ${fmtCounts(b.workersBefore[0].resources)} → ${fmtCounts(b.workersAfter[0].resources)}`,
      `  user listeners on each worker at the end: ${[...new Set(b.userListeners.map(fmtCounts))].join(' / ')} (the user added 1 each)`,
      `  our link per worker at the end: ${[...new Set(b.links.map(fmtCounts))].join(' / ')}`,
    ],
  )
  target(
    `(b) RSS growth after GC ≤ floor (b0) + ${RSS_BUDGET_MB} MB, pool alive`,
    null,
    signed(alive),
    alive,
  )
  target(
    `(b) RSS growth after GC ≤ floor (b0) + ${RSS_BUDGET_MB} MB, pool terminated`,
    null,
    signed(all),
    all,
  )
  baselineTargets(target, '(b)', ' (pool terminated)', before, after)
  const wb = b.workersBefore
  const wa = b.workersAfter
  target(
    '(b) our state empty between profiles: hub.sessions, sampler, links, worker runtimes',
    after.ours['hub.sessions'] === 0 &&
      b.hubSessions === 0 &&
      wa.every(
        (x) =>
          x.sessions === 0 &&
          x.samplerActive === 0 &&
          !x.samplerBackend &&
          x.exitListeners === b.plainStats.exitListeners,
      ) &&
      b.links.every((l) => l['link.sessions'] === 0 && l['link.waits'] === 0),
    `main ${fmtCounts(after.ours)}; workers ${workerState(wa)}; links ${[...new Set(b.links.map(fmtCounts))].join(' / ')}`,
  )
  const sameWorkerResources = wa.every((x, i) => sameCounts(x.resources, wb[i].resources))
  target(
    '(b) worker-side resources and listeners unchanged by the messages',
    sameWorkerResources && wa.every((x, i) => x.messageListeners === wb[i].messageListeners),
    sameWorkerResources ? 'same' : `worker 0: ${fmtCounts(wa[0].resources)}`,
  )
  return { out, targets }
}

const PHASES = ['plain', 'inspector', 'ours', 'messages-plain', 'messages']

/** Parent: every phase in its own `node --expose-gc` child, then one report. */
function main(argv) {
  const { spawnSync } = require('node:child_process')
  const { environment } = require('../harness')
  const started = Date.now()
  const results = {}
  for (const phase of PHASES) {
    process.stderr.write(`== ${phase}\n`)
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', ...process.execArgv, __filename, '--phase', phase, ...argv],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 },
    )
    const last = r.stdout.trim().split('\n').pop()
    try {
      results[phase] = JSON.parse(last)
    } catch {
      results[phase] = {
        out: [`(${phase}) failed: exit ${r.signal ?? r.status}; ${r.stdout.slice(-400)}`],
        targets: [],
      }
      process.exitCode = 1
    }
  }
  const floor = results.plain?.growth
  const inspectorFloor = results.inspector?.growth
  console.log(
    `${new Date().toISOString().slice(0, 10)}; ${environment().replace(/, gc .*/, '')}; each phase a fresh \`node --expose-gc\`, gc() every 250 ms for ${SETTLE_MS / 1000} s before each reading`,
  )
  const targets = []
  for (const phase of PHASES) {
    console.log(results[phase].out.join('\n'))
    for (const t of results[phase].targets) {
      // RSS targets are judged here, against the floor phase of this same run.
      if (t.name.startsWith('(a) RSS')) {
        t.met =
          inspectorFloor === undefined ? null : t.growth <= inspectorFloor + RSS_BUDGET_MB * MB
        if (floor !== undefined)
          t.value += ` (floors: plain Worker ${signed(floor)}, inspector-profiled Worker ${signed(inspectorFloor)})`
      }
      const b0 = results['messages-plain']
      if (t.name.startsWith('(b) RSS')) {
        const base = t.name.endsWith('alive') ? b0?.alive : b0?.all
        t.met = base === undefined ? null : t.growth <= base + RSS_BUDGET_MB * MB
        if (base !== undefined) t.value += ` (plain Worker pool: ${signed(base)})`
      }
      targets.push(t)
    }
  }
  console.log('\nTargets (figures only; never an exit code):')
  const verdict = (met) => (met === null ? 'n/a ' : met ? 'MET ' : 'MISS')
  for (const t of targets) console.log(`  ${verdict(t.met)}  ${t.name}: ${t.value}`)
  console.log(`\nTotal time: ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

function options(argv) {
  const opt = (name, dflt) => {
    const at = argv.indexOf(`--${name}`)
    return at >= 0 ? Number(argv[at + 1]) : dflt
  }
  return {
    cycles: opt('cycles', CYCLES),
    messages: opt('messages', MESSAGES),
    profiledEvery: opt('profiled-every', PROFILED_EVERY),
  }
}

if (!wt.isMainThread) {
  workerMain()
} else if (process.argv.includes('--phase')) {
  const argv = process.argv.slice(2)
  const phase = argv[argv.indexOf('--phase') + 1]
  if (typeof global.gc !== 'function') {
    // GC on demand is what makes "after" mean "after collection": re-run with the flag.
    const { spawnSync } = require('node:child_process')
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', ...process.execArgv, __filename, ...argv],
      {
        stdio: 'inherit',
      },
    )
    process.exitCode = r.status ?? 1
  } else {
    runPhase(phase, options(argv)).then(
      (result) => console.log(JSON.stringify(result)),
      (err) => {
        process.stderr.write(`${err.stack}\n`)
        process.exitCode = 1
      },
    )
  }
} else {
  main(process.argv.slice(2))
}
