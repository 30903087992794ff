'use strict'
// The thread sampler from outside: real profiles across several rotations (lib/thread/sampler/index.js
// cuts each thread's stretch every ROTATE_MS), the user's own profiling in the same
// thread, and the clock of sample timestamps with either way of reaching V8.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const v8 = require('node:v8')
const wt = require('node:worker_threads')
const { Session } = require('node:inspector')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const pw = require('..')
const hub = require('../lib/thread/hub')
const { ROTATE_MS } = require('../lib/thread/sampler')
const { within, context, ask, threadOf } = require('./helpers')

const WORK = path.join(__dirname, 'fixtures', 'work.js')
// 1000 µs is V8's default: v8.startCpuProfile() handles where Node has them. 500 µs
// always goes through the inspector.
const INTERVALS = [1000, 500]
const HAS_HANDLES = typeof v8.startCpuProfile === 'function'

const hrUs = () => Number(process.hrtime.bigint()) / 1000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}
/** The main thread busy for `ms`, yielding to the event loop every 50 ms. */
async function mainWork(ms) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const slice = Date.now() + 50
    while (Date.now() < slice) fib(15)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Absolute sample timestamps (µs) of a report thread, and the functions on each stack. */
function samplesOf(profile) {
  const p = JSON.parse(profile.toCpuprofile())
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stackOf = (id) => {
    const names = []
    for (let at = id; at !== undefined; at = parent.get(at)) {
      names.push(byId.get(at).callFrame.functionName)
    }
    return names
  }
  let t = p.startTime
  return p.samples.map((id, k) => ({ t: (t += p.timeDeltas[k]), stack: stackOf(id) }))
}

/** Samples cover [from, to] once: inside it, none twice, no stretch missing. */
function assertTiles(samples, from, to, intervalUs, what) {
  const ts = samples.map((s) => s.t)
  assert.ok(ts.length > 0, `${what}: samples`)
  for (const t of ts) assert.ok(t >= from && t <= to, `${what}: sample at ${t} in [${from}, ${to}]`)
  assert.equal(new Set(ts).size, ts.length, `${what}: no sample twice`)
  const sorted = [...ts].sort((a, b) => a - b)
  // A chunk lost or misplaced at a cut leaves a hole of a whole rotation: the sampler
  // cuts each stretch after ROTATE_MS, so no gap may reach that.
  let gap = sorted[0] - from
  for (let k = 1; k < sorted.length; k++) gap = Math.max(gap, sorted[k] - sorted[k - 1])
  assert.ok(gap < ROTATE_MS * 1000, `${what}: largest gap ${gap} µs`)
  // V8 samples no faster than asked; load only makes it slower, so no lower bound here.
  const expected = (to - from) / intervalUs
  assert.ok(
    ts.length <= expected * 1.2,
    `${what}: ${ts.length} samples for ~${expected.toFixed(0)}`,
  )
}

/** The main-side session of a running profile named `name`. */
const sessionNamed = (name) => [...hub.sessions.values()].find((s) => s.name === name)

for (const intervalUs of INTERVALS) {
  test(`${intervalUs} µs: a profile over several rotations has every sample once, on the main thread and in a worker`, async (t) => {
    const ctx = context()
    const name = `rotations-${intervalUs}`
    const from = hrUs()
    let w
    const profile = ctx(() => {
      const p = pw.startProfile({ name, samplingIntervalUs: intervalUs })
      w = new wt.Worker(WORK)
      return p
    })
    t.after(() => w.terminate())
    const rounds = 7 // 3.5 rotations
    const work = ctx(async () => {
      for (let i = 0; i < rounds; i++) await ask(w, { fn: 'taskA', ms: ROTATE_MS / 2 })
    })
    await Promise.all([work, mainWork((rounds * ROTATE_MS) / 2)])
    // Chunks came home while the profile ran, not all at its stop.
    const s = sessionNamed(name)
    assert.ok(s.threads.get(0).chunks.length >= 2, 'main-thread chunks during the profile')
    assert.ok(s.threads.get(w.threadId).chunks.length >= 2, 'worker chunks during the profile')
    const report = await within(profile.stop(), 'stop')
    const to = hrUs()
    assertTiles(samplesOf(threadOf(report, 0).profile), from, to, intervalUs, 'main thread')
    const worker = samplesOf(threadOf(report, w.threadId).profile)
    assertTiles(worker, from, to, intervalUs, 'worker')
    assert.ok(
      worker.some((x) => x.stack.includes('taskA')),
      'the worker’s task is in it',
    )
  })
}

for (const intervalUs of INTERVALS) {
  test(`${intervalUs} µs: the user’s own console.profile and inspector profiling in the same thread, while we profile, work on both sides`, async () => {
    const user = new Session()
    user.connect()
    const post = (method, params) =>
      new Promise((resolve, reject) =>
        user.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
      )
    const finished = []
    user.on('Profiler.consoleProfileFinished', ({ params }) => finished.push(params))
    await post('Profiler.enable')

    const ctx = context()
    const from = hrUs()
    const profile = ctx(() => pw.startProfile({ samplingIntervalUs: intervalUs }))
    // Untitled, across a rotation: console.profileEnd() ends the last console profile
    // started in every session, which in ours is one of our stretches.
    console.profile()
    await mainWork(ROTATE_MS * 1.5)
    console.profileEnd()
    console.profile('mine')
    await mainWork(300)
    console.profileEnd('mine')
    await post('Profiler.start')
    await mainWork(300)
    const { profile: own } = await post('Profiler.stop')
    await mainWork(ROTATE_MS)
    const report = await within(profile.stop(), 'stop')
    const to = hrUs()
    user.disconnect()

    assertTiles(samplesOf(threadOf(report, 0).profile), from, to, intervalUs, 'our profile')
    // Ours (the bridges of inspector cuts) show up in every enabled session too.
    const mine = finished.filter((f) => !f.title.startsWith('profiled-worker:'))
    // An untitled profile's title is '' before Node 24, 'default' from it.
    assert.deepEqual(
      mine.map((f) => (f.title === 'default' ? '' : f.title)),
      ['', 'mine'],
    )
    for (const f of mine) assert.ok(f.profile.samples.length > 0, `user's "${f.title}" has samples`)
    assert.ok(own.samples.length > 0, 'the user’s Profiler.start/stop profile has samples')
  })
}

for (const intervalUs of INTERVALS) {
  test(`${intervalUs} µs: a profile that starts in the same turn as the last one stops gets its own samples only, on the main thread and in a worker`, async (t) => {
    // The sampler keeps V8's profiler running for a moment after the last profile on a
    // thread stops; a profile starting then goes on from there.
    const w = new wt.Worker(WORK)
    t.after(() => w.terminate())
    await ask(w, { fn: 'taskC', ms: 1 })
    const [ctxA, ctxB] = [context('A'), context('B')]
    const options = { samplingIntervalUs: intervalUs }
    const fromA = hrUs()
    const a = ctxA(() => pw.startProfile(options))
    await Promise.all([ctxA(() => ask(w, { fn: 'taskA', ms: 300 })), mainWork(300)])
    const reportA = a.stop() // cuts A at once, before the next line reads the clock
    const toA = hrUs()
    const fromB = hrUs()
    const b = ctxB(() => pw.startProfile(options))
    await Promise.all([ctxB(() => ask(w, { fn: 'taskB', ms: 300 })), mainWork(300)])
    const reportB = await within(b.stop(), 'stop B')
    const toB = hrUs()
    const forA = samplesOf(threadOf(await within(reportA, 'stop A'), w.threadId).profile)
    const forB = samplesOf(threadOf(reportB, w.threadId).profile)
    assert.ok(
      forA.some((x) => x.stack.includes('taskA')),
      'A has its task',
    )
    assert.ok(
      forB.some((x) => x.stack.includes('taskB')),
      'B has its task',
    )
    assert.ok(!forB.some((x) => x.stack.includes('taskA')), 'B has nothing of A’s task')
    assert.ok(!forA.some((x) => x.stack.includes('taskB')), 'A has nothing of B’s task')
    assertTiles(samplesOf(threadOf(reportB, 0).profile), fromB, toB, intervalUs, 'B main')
    const mainA = samplesOf(threadOf(await reportA, 0).profile)
    for (const x of mainA) assert.ok(x.t >= fromA && x.t <= toA, `A main sample at ${x.t}`)
  })
}

test('sample timestamps are on the process.hrtime clock, with either way of reaching V8', async () => {
  for (const intervalUs of INTERVALS) {
    const ctx = context()
    const profile = ctx(() => pw.startProfile({ samplingIntervalUs: intervalUs }))
    const backend = hub.sampler.backend.constructor.name
    if (intervalUs === 1000 && HAS_HANDLES) assert.equal(backend, 'HandleSampling')
    else assert.equal(backend, 'InspectorSampling')
    await sleep(50)
    const t0 = hrUs()
    knownBusy(300)
    const t1 = hrUs()
    await sleep(300)
    const report = await within(profile.stop(), 'stop')
    const inside = samplesOf(threadOf(report, 0).profile).filter((s) =>
      s.stack.includes('clockProbe'),
    )
    assert.ok(inside.length > 0, `${backend}: samples in clockProbe`)
    for (const s of inside) {
      assert.ok(s.t >= t0 && s.t <= t1, `${backend}: clockProbe sample at ${s.t} in [${t0}, ${t1}]`)
    }
  }
})

// V8's own profile writer (behind v8.startCpuProfile) copies frame names in unescaped, and
// a sample inside a regular expression is named after its source.
test('a profile that samples regular expressions with quotes and backslashes in them reads back whole', async () => {
  const text = Array.from({ length: 2000 }, (_, i) => `"key${i}" : "v${i}", `).join('')
  for (const intervalUs of INTERVALS) {
    const ctx = context()
    const profile = ctx(() => pw.startProfile({ samplingIntervalUs: intervalUs }))
    // Compiled while sampling (V8 names no regex code compiled before), one per interval.
    const source = String.raw`"key(\d+)"\s*:\s*"([^"\\]*)"|` + intervalUs
    const re = new RegExp(source, 'g')
    const end = Date.now() + 400
    let found = 0
    while (Date.now() < end) found += [...text.matchAll(re)].length
    const report = await within(profile.stop(), 'stop')
    const t = threadOf(report, 0)
    assert.equal(t.status, 'ok', `${intervalUs} µs: ${t.error ?? ''}`)
    const frames = samplesOf(t.profile).filter((s) => s.stack.includes(`RegExp: ${source}`))
    assert.ok(found > 0 && frames.length > 0, `${intervalUs} µs: samples in the RegExp frame`)
  }
})

// Recursive, so it shows on the stack even where V8 inlines knownBusy into its caller.
function clockProbe(n) {
  return n < 2 ? n : clockProbe(n - 1) + clockProbe(n - 2)
}
function knownBusy(ms) {
  const end = Date.now() + ms
  while (Date.now() < end) clockProbe(15)
}

// Node's own profiler clients (coverage for c8 and friends, --cpu-prof) print every
// Profiler event they did not ask for to stderr; our cuts must not make any.
for (const [what, env, args] of [
  ['NODE_V8_COVERAGE (c8)', (dir) => ({ NODE_V8_COVERAGE: dir }), () => []],
  ['--cpu-prof', () => ({}), (dir) => ['--cpu-prof', '--cpu-prof-dir', dir]],
]) {
  test(`under ${what}: profiles across rotations work and print nothing to stderr`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-client-'))
    try {
      const r = spawnSync(
        process.execPath,
        [...args(dir), path.join(__dirname, 'fixtures', 'rotations-app.js')],
        { env: { ...process.env, ...env(dir) }, encoding: 'utf8', timeout: 60_000 },
      )
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stderr, '')
      const threads = JSON.parse(r.stdout)
      assert.equal(threads.length, 2, 'main thread and worker')
      // Samples on both sides of at least one cut: the profile went on across rotations.
      for (const { samples, spanUs } of threads) {
        assert.ok(samples > 0, `${samples} samples`)
        assert.ok(spanUs > ROTATE_MS * 1000, `samples over ${spanUs} µs`)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
}

test('failures the sampler swallows are counted in the thread’s report', async () => {
  const ctx = context()
  // 500 µs: through the inspector, whose calls can fail.
  const profile = ctx(() => pw.startProfile({ samplingIntervalUs: 500 }))
  await mainWork(20)
  const { backend } = hub.sampler
  // One inspector call answered with an error, then one cut that throws.
  const post = backend.session.post
  backend.session.post = function (method, params, onAnswer) {
    backend.session.post = post
    onAnswer(new Error('injected'), undefined)
  }
  hub.sampler.rotate()
  const cut = backend.cut
  backend.cut = () => {
    backend.cut = cut
    throw new Error('injected')
  }
  hub.sampler.rotate()
  await mainWork(20)
  const report = await within(profile.stop(), 'stop()')
  const main = threadOf(report, 0)
  assert.equal(main.failures.sampler, 1, 'the cut that threw')
  assert.ok(main.failures.inspector >= 1, 'the inspector call that failed')
  assert.deepEqual(main.dropped, {})
  // A later profile starts from zero.
  const next = await pw.runProfile(() => mainWork(10), { samplingIntervalUs: 500 })
  assert.deepEqual(threadOf(next.report, 0).failures, {})
})
