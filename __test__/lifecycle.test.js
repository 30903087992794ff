'use strict'
// When a worker profiles for a main-thread profile: from before its first line when
// created inside the profile, from a profiled context's postMessage when pooled, until
// the profile stops or the worker is terminated; and what the report says about it.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const wt = require('node:worker_threads')

const PlainWorker = wt.Worker // captured before the patch
const pw = require('..')
const { startProfile, runProfile, serialize, deserialize, CpuProfile, ProfileReport } = pw
const {
  within,
  context,
  ask,
  samplesUnder,
  threadOf,
  assertEffectsHome,
  once,
  terminateAll,
} = require('./helpers')

const Worker = wt.Worker // patched
const WORK = path.join(__dirname, 'fixtures', 'work.js')
const NESTED = path.join(__dirname, 'fixtures', 'nested.js')

function mainThreadWork(ms) {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}

test('(1) a worker created inside a profile is profiled from before its first line', async () => {
  let w
  const { result: first, report } = await within(
    runProfile(
      async () => {
        w = new Worker(WORK, { workerData: { startup: 150 }, name: 'startup' })
        return ask(w, { fn: 'taskA', ms: 1 })
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  try {
    const t = threadOf(report, w.threadId)
    assert.equal(t.name, 'startup')
    assert.equal(t.status, 'ok')
    assert.ok(samplesUnder(t.profile, 'startupWork') > 0, 'samples of the top-level startupWork')
    assert.deepEqual(first.active, [report.id], 'the profile is in force in the handler too')
  } finally {
    await terminateAll(w)
  }
})

test('(2) a pooled worker starts when a profiled context posts to it, before the handler runs', async () => {
  const w = new Worker(WORK) // created outside any profile
  try {
    assert.deepEqual((await ask(w, { fn: 'taskB', ms: 100 })).active, [], 'outside any profile')
    const ctx = context()
    const profile = ctx(() => startProfile({ mainThread: false }))
    const reply = await ctx(() => ask(w, { fn: 'taskA', ms: 150 }))
    assert.deepEqual(reply, { done: 'taskA', active: [profile.id] })
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, w.threadId)
    assert.equal(t.status, 'ok')
    assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'samples of taskA')
    assert.equal(samplesUnder(t.profile, 'taskB'), 0, 'nothing of the work before the profile')
    assert.deepEqual((await ask(w, { fn: 'taskA', ms: 1 })).active, [], 'outside again')
  } finally {
    await terminateAll(w)
  }
})

test('(3) the worker stops when the profile stops; terminate() while profiling keeps its samples', async (t) => {
  await t.test('stop', async () => {
    const w = new Worker(WORK)
    try {
      const ctx = context()
      const profile = ctx(() => startProfile({ mainThread: false }))
      assert.deepEqual((await ctx(() => ask(w, { fn: 'taskA', ms: 100 }))).active, [profile.id])
      const report = await within(profile.stop(), 'stop()')
      assert.ok(samplesUnder(threadOf(report, w.threadId).profile, 'taskA') > 0)
      // Even from the profile's own context: it is over, the worker no longer profiles.
      assert.deepEqual((await ctx(() => ask(w, { fn: 'taskB', ms: 1 }))).active, [])
      assert.deepEqual(pw.activeProfiles(), [])
    } finally {
      await terminateAll(w)
    }
  })

  await t.test('terminate()', async () => {
    const plain = new PlainWorker(WORK)
    await ask(plain, { fn: 'taskA', ms: 1 })
    const plainCode = await within(plain.terminate(), 'plain terminate()')
    assert.equal(plainCode, 1)

    for (const pooled of [true, false]) {
      const ctx = context()
      let w = pooled ? new Worker(WORK) : null
      const profile = ctx(() => startProfile({ mainThread: false }))
      w ??= ctx(() => new Worker(WORK))
      const threadId = w.threadId // -1 once it has exited
      const exitEvent = once(w, 'exit')
      assert.deepEqual((await ctx(() => ask(w, { fn: 'taskA', ms: 150 }))).active, [profile.id])
      const code = await within(
        ctx(() => w.terminate()),
        'terminate()',
      )
      assert.equal(code, plainCode, 'terminate() resolves as plain terminate() does')
      assert.equal(await exitEvent, plainCode)
      const report = await within(profile.stop(), 'stop()')
      const thread = threadOf(report, threadId)
      assert.ok(samplesUnder(thread.profile, 'taskA') > 0, `taskA samples (pooled: ${pooled})`)
      assertEffectsHome(thread)
      assert.equal(thread.status, 'exited')
      assert.equal(thread.exitCode, 1)
    }
  })
})

test('(4) overlapping profiles in one pooled worker each keep only their own tasks', async () => {
  const w = new Worker(WORK)
  try {
    const ctxA = context('A')
    const ctxB = context('B')
    const a = ctxA(() => startProfile({ mainThread: false, name: 'A' }))
    assert.deepEqual((await ctxA(() => ask(w, { fn: 'taskA', ms: 150 }))).active, [a.id])
    const b = ctxB(() => startProfile({ mainThread: false, name: 'B' }))
    // A is still active in the worker, but this task is B's alone.
    assert.deepEqual((await ctxB(() => ask(w, { fn: 'taskB', ms: 150 }))).active, [b.id])
    // Work sent from outside both profiles belongs to neither.
    assert.deepEqual((await ask(w, { fn: 'startupWork', ms: 150 })).active, [])
    const reportA = await within(a.stop(), 'A.stop()')
    assert.deepEqual((await ctxB(() => ask(w, { fn: 'taskC', ms: 150 }))).active, [b.id])
    const reportB = await within(b.stop(), 'B.stop()')

    const inA = threadOf(reportA, w.threadId).profile
    const inB = threadOf(reportB, w.threadId).profile
    assert.ok(samplesUnder(inA, 'taskA') > 0, 'A has taskA')
    assert.equal(samplesUnder(inA, 'taskB'), 0, 'A has no taskB (B sent it)')
    assert.equal(samplesUnder(inA, 'taskC'), 0, 'A has no taskC')
    assert.equal(samplesUnder(inB, 'taskA'), 0, 'B has no taskA')
    assert.ok(samplesUnder(inB, 'taskB') > 0, 'B has taskB')
    assert.ok(samplesUnder(inB, 'taskC') > 0, 'B has taskC')
    for (const [name, p] of [
      ['A', inA],
      ['B', inB],
    ])
      assert.equal(samplesUnder(p, 'startupWork'), 0, `${name} has none of the unprofiled task`)
  } finally {
    await terminateAll(w)
  }
})

test('(4b) a profile joining a busy worker gets none of the work done before it joined', async () => {
  // The worker is busy for A when B starts and posts: B's start takes effect only once
  // the worker is free, so none of A's task belongs to B, although it ran in B's window.
  const code = `
    const { parentPort } = require('node:worker_threads')
    function spin(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x }
    function longTask() { spin(300) }
    function shortTask() { spin(100) }
    parentPort.on('message', (m) => {
      if (m === 'long') { parentPort.postMessage('started'); longTask() }
      if (m === 'short') shortTask()
      parentPort.postMessage('done ' + m)
    })`
  const w = new Worker(code, { eval: true })
  const next = (want) => {
    const p = new Promise((resolve) => {
      const on = (m) => m === want && (w.off('message', on), resolve())
      w.on('message', on)
    })
    return within(p, `message ${want}`)
  }
  try {
    const ctxA = context('A')
    const ctxB = context('B')
    const a = ctxA(() => startProfile({ mainThread: false, name: 'A' }))
    const started = next('started')
    const doneLong = next('done long')
    ctxA(() => w.postMessage('long'))
    await started // the worker is in longTask now
    const b = ctxB(() => startProfile({ mainThread: false, name: 'B' }))
    const doneShort = next('done short')
    ctxB(() => w.postMessage('short'))
    await doneLong
    await doneShort
    const [reportA, reportB] = await within(Promise.all([a.stop(), b.stop()]), 'stop()')
    const inA = threadOf(reportA, w.threadId).profile
    const inB = threadOf(reportB, w.threadId).profile
    assert.ok(samplesUnder(inA, 'longTask') > 0, 'A has longTask')
    assert.ok(samplesUnder(inB, 'shortTask') > 0, 'B has shortTask')
    assert.equal(samplesUnder(inB, 'longTask'), 0, 'B has none of longTask')
  } finally {
    await terminateAll(w)
  }
})

test('(5) the report is bigint-safe and every thread profile is a valid .cpuprofile', async () => {
  let w
  const { report } = await within(
    runProfile(async () => {
      w = new Worker(WORK)
      await ask(w, { fn: 'taskA', ms: 100 })
      await ask(w, { effect: 'roundtrip' })
      mainThreadWork(100)
    }),
    'runProfile',
  )
  try {
    assert.ok(report instanceof ProfileReport)
    const json = deserialize(serialize(report))
    assert.equal(json.startNs, report.startNs)
    assert.equal(json.endNs, report.endNs)
    assert.equal(typeof json.startNs, 'bigint')
    assert.equal(typeof json.endNs, 'bigint')
    assert.deepEqual(
      json.threads.map((t) => t.threadId),
      [0, w.threadId],
    )
    for (const [i, t] of json.threads.entries()) {
      const original = report.threads[i]
      assert.equal(typeof t.effects.cpuTimeNs, 'bigint', `thread ${t.threadId} cpuTimeNs`)
      assert.equal(t.effects.cpuTimeNs, original.effects.cpuTimeNs)
      assert.equal(typeof t.effects.wallTimeNs, 'bigint')
      assert.equal(t.status, original.status)
      const parsed = CpuProfile.parse(JSON.stringify(t.profile))
      assert.equal(parsed.sampleCount, original.profile.sampleCount)
      assert.ok(parsed.sampleCount > 0, `thread ${t.threadId} has samples`)
    }
    const custom = json.threads[1].effects.custom
    assert.deepEqual(
      custom.map((e) => e.data),
      [{ n: 1n, note: 'from worker' }],
    )
    assert.equal(typeof custom[0].atNs, 'bigint')
  } finally {
    await terminateAll(w)
  }
})

test('(6) effects: CPU, wall time and event loop utilization follow what each worker did', async () => {
  let busy, idle, busyReply
  const { report } = await within(
    runProfile(
      async () => {
        busy = new Worker(WORK, { name: 'busy' })
        idle = new Worker(WORK, { name: 'idle' })
        // The idle worker answers at once and then waits while the busy one computes.
        ;[busyReply] = await Promise.all([
          ask(busy, { fn: 'taskA', ms: 300, timed: true }),
          ask(idle, { fn: 'taskA', ms: 0 }),
        ])
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  try {
    const b = threadOf(report, busy.threadId)
    const i = threadOf(report, idle.threadId)
    for (const t of [b, i]) {
      assert.equal(t.status, 'ok')
      assert.ok(t.effects.cpuTimeNs > 0n, `${t.name} started up, which takes CPU`)
      assert.ok(t.effects.wallTimeNs > 0n)
      const elu = t.effects.eventLoopUtilization
      for (const key of ['idle', 'active', 'utilization']) {
        assert.ok(Number.isFinite(elu[key]) && elu[key] >= 0, `${t.name} ${key} = ${elu[key]}`)
      }
      assert.ok(elu.utilization <= 1)
      assert.deepEqual(t.effects.errors, [])
      assert.deepEqual(t.effects.custom, [])
    }
    assert.ok(b.effects.cpuTimeNs > i.effects.cpuTimeNs, 'the busy worker used more CPU')
    // The idle worker mostly waited: far less CPU than time passed.
    assert.ok(i.effects.cpuTimeNs < i.effects.wallTimeNs, 'the idle worker used less CPU than wall')
    // The busy worker's task ran in one callback of its event loop, after the profile
    // started there: its loop was active at least as long as the task took. (While V8's
    // profiler runs, Node counts a waiting worker's loop as active too, so idle and busy
    // workers cannot be told apart by utilization.)
    const be = b.effects.eventLoopUtilization
    assert.ok(be.active >= busyReply.workMs, `active ${be.active} ms ≥ task ${busyReply.workMs} ms`)
  } finally {
    await terminateAll(busy, idle)
  }
})

test('(6) effects: a worker error during the profile makes the thread crashed', async () => {
  const w = new Worker(WORK)
  const threadId = w.threadId // -1 once it has exited
  try {
    const ctx = context()
    const profile = ctx(() => startProfile({ mainThread: false }))
    await ctx(() => ask(w, { fn: 'taskA', ms: 100 }))
    const error = once(w, 'error')
    const exit = once(w, 'exit')
    ctx(() => w.postMessage({ throw: 'x' }))
    assert.equal((await error).message, 'task failed: x')
    assert.equal(await exit, 1)
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, threadId)
    assert.equal(t.status, 'crashed')
    assert.deepEqual(
      t.effects.errors.map((e) => e.message),
      ['task failed: x'],
    )
    assert.equal(t.effects.errors[0].name, 'Error')
    assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'the samples before the crash came home')
  } finally {
    await terminateAll(w)
  }
})

test('(6) effects: process.exit(3) in the worker makes the thread exited with code 3', async () => {
  const w = new Worker(WORK)
  const threadId = w.threadId // -1 once it has exited
  try {
    const ctx = context()
    const profile = ctx(() => startProfile({ mainThread: false }))
    await ctx(() => ask(w, { fn: 'taskA', ms: 100 }))
    const exit = once(w, 'exit')
    ctx(() => w.postMessage({ exit: 3 }))
    assert.equal(await exit, 3)
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, threadId)
    assert.equal(t.status, 'exited')
    assert.equal(t.exitCode, 3)
    assert.deepEqual(t.effects.errors, [])
    assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'the samples before the exit came home')
  } finally {
    await terminateAll(w)
  }
})

test('(6) workers that finish by themselves during the profile: exited 0, samples home', async () => {
  const code = `
    function selfWork(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x }
    selfWork(100)`
  const ids = []
  const { report } = await within(
    runProfile(
      async () => {
        // Several at once: the last data of each races its 'exit' event home.
        const workers = [1, 2, 3].map(() => new Worker(code, { eval: true }))
        ids.push(...workers.map((w) => w.threadId))
        assert.deepEqual(await Promise.all(workers.map((w) => once(w, 'exit'))), [0, 0, 0])
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  assert.deepEqual(
    report.threads.map((t) => t.threadId),
    ids,
  )
  for (const t of report.threads) {
    assert.equal(t.status, 'exited', `thread ${t.threadId}`)
    assert.equal(t.exitCode, 0)
    assert.ok(samplesUnder(t.profile, 'selfWork') > 0, `samples of thread ${t.threadId}`)
    assertEffectsHome(t)
  }
})

test('(6) effects: recordEffect() in the worker appears in effects.custom, BigInts intact', async () => {
  let w
  const { report } = await within(
    runProfile(
      async () => {
        w = new Worker(WORK)
        const reply = await ask(w, { effect: 'cache-miss' })
        assert.equal(reply.active.length, 1)
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  try {
    const { custom } = threadOf(report, w.threadId).effects
    assert.equal(custom.length, 1)
    assert.equal(custom[0].name, 'cache-miss')
    assert.deepEqual(custom[0].data, { n: 1n, note: 'from worker' })
    assert.equal(typeof custom[0].atNs, 'bigint')
    assert.ok(
      report.startNs <= custom[0].atNs && custom[0].atNs <= report.endNs,
      'recorded during the profile',
    )
  } finally {
    await terminateAll(w)
  }
})

test("(6) a worker that cannot be reached within stopTimeoutMs is 'timeout'", async () => {
  // Busy JavaScript is reached through an interrupt (busy.test.js); a thread blocked inside
  // a native call (here a synchronous child process) is not, until the call returns.
  const code = `
    const { parentPort } = require('node:worker_threads')
    const { execFileSync } = require('node:child_process')
    const { currentProfiles } = require(${JSON.stringify(path.join(__dirname, '..'))})
    parentPort.on('message', (m) => {
      if (m === 'busy') { parentPort.postMessage('started'); execFileSync('sleep', ['1.5']) }
      parentPort.postMessage({ done: m, active: currentProfiles().map((p) => p.id) })
    })`
  const w = new Worker(code, { eval: true })
  try {
    const ctx = context()
    const profile = ctx(() => startProfile({ mainThread: false, stopTimeoutMs: 100 }))
    const started = within(new Promise((resolve) => w.once('message', resolve)), 'started')
    ctx(() => w.postMessage('busy'))
    assert.equal(await started, 'started')
    // The worker is blocked for 1.5 s from now; the stop gives up after 0.1 s.
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, w.threadId)
    assert.equal(t.status, 'timeout')
    assert.deepEqual(pw.activeProfiles(), [])
    // The interrupt queued for the stop runs as soon as the thread is back in JavaScript,
    // before the rest of the handler: the profile is no longer active there.
    assert.deepEqual(await ask(w, 'later'), { done: 'busy', active: [] }, 'the busy reply')
    assert.deepEqual(await ask(w, 'later'), { done: 'later', active: [] })
  } finally {
    await terminateAll(w)
  }
})

test('(6) a nested worker started inside a profiled worker is its own thread in the report', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads')
    function nestedWork(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x }
    nestedWork(150)
    parentPort.postMessage('nested done')`
  let w
  let outerId // nested.js exits by itself once its worker has: threadId becomes -1
  const { result: messages, report } = await within(
    runProfile(
      async () => {
        w = new Worker(NESTED, { workerData: { code } })
        outerId = w.threadId
        const seen = []
        await new Promise((resolve, reject) => {
          w.on('error', reject)
          w.on('message', (m) => {
            seen.push(m)
            if (m.nestedExit !== undefined) resolve()
          })
        })
        return seen
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  try {
    assert.deepEqual(
      messages.map((m) => m.nested ?? m.nestedExit),
      ['nested done', 0],
    )
    assert.deepEqual(
      report.threads.map((t) => t.name),
      [`worker ${outerId}`, 'nested'],
    )
    threadOf(report, outerId)
    const nested = report.threads.find((t) => t.name === 'nested')
    assert.notEqual(nested.threadId, outerId)
    assert.notEqual(nested.threadId, 0)
    assert.ok(samplesUnder(nested.profile, 'nestedWork') > 0, 'samples of the nested worker')
    assertEffectsHome(nested)
    assert.equal(nested.status, 'exited')
    assert.equal(nested.exitCode, 0)
  } finally {
    await terminateAll(w)
  }
})

test('mainThread: false leaves the main thread out; by default it is thread 0, "main"', async () => {
  const without = await within(
    runProfile(() => mainThreadWork(100), { mainThread: false }),
    'runProfile',
  )
  assert.equal(without.report.thread(0), undefined)
  assert.deepEqual(without.report.threads, [])

  // Its own work function: V8 (Node 22) attributes samples of a function optimized by
  // earlier calls to its caller, so a shared helper's frame may not show up.
  function onlyHereMainWork(ms) {
    const end = Date.now() + ms
    let x = 0
    while (Date.now() < end) x += Math.sqrt(x + 1)
    return x
  }
  const withMain = await within(
    runProfile(() => onlyHereMainWork(150)),
    'runProfile',
  )
  const main = threadOf(withMain.report, 0)
  assert.equal(main.name, 'main')
  assert.equal(main.status, 'ok')
  assert.ok(
    samplesUnder(main.profile, 'onlyHereMainWork') > 0,
    'samples of the main-thread work:\n' + main.profile.toCollapsed().slice(0, 1500),
  )
  assertEffectsHome(main)
})
