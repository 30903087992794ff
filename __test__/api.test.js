'use strict'
// The profiling API: startProfile / runProfile / stop, the profile registry, option
// validation, recordEffect, and the report's output formats.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const zlib = require('node:zlib')
const { Profile } = require('pprof-format')

const pw = require('..')
const { Worker } = require('node:worker_threads') // after the patch: the ProfiledWorker
const { startProfile, runProfile, activeProfiles, currentProfiles, recordEffect, ProfileReport } =
  pw
const { ROOT, within, context, ask } = require('./helpers')

const WORK = path.join(__dirname, 'fixtures', 'work.js')

function mainWork(ms) {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}

const ids = (profiles) => profiles.map((p) => p.id)

test('startProfile() and stop(): a ProfileReport; stop() twice gives the same promise and report', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile({ name: 'request 1' }))
  assert.equal(typeof profile.id, 'number')
  assert.equal(profile.name, 'request 1')
  assert.equal(profile.state, 'active')
  assert.equal(typeof profile.startNs, 'bigint')
  ctx(() => mainWork(100))

  const first = profile.stop()
  const second = profile.stop()
  assert.equal(first, second)
  assert.notEqual(profile.state, 'active')
  const report = await within(first, 'stop()')
  assert.ok(report instanceof ProfileReport)
  assert.equal(report, await profile.stop())
  assert.equal(profile.state, 'stopped')
  assert.equal(report.id, profile.id)
  assert.equal(report.name, 'request 1')
  assert.equal(report.startNs, profile.startNs)
  assert.equal(typeof report.endNs, 'bigint')
  assert.ok(report.endNs > report.startNs)
  assert.deepEqual(
    report.threads.map((t) => [t.threadId, t.name, t.status]),
    [[0, 'main', 'ok']],
  )
  assert.ok(report.thread(0).profile.sampleCount > 0)
})

test('runProfile() resolves { result, report }', async () => {
  let inside
  const { result, report } = await within(
    runProfile(
      async () => {
        inside = ids(currentProfiles())
        await new Promise((resolve) => setTimeout(resolve, 10))
        assert.deepEqual(ids(currentProfiles()), inside, 'async continuations keep the profile')
        return 42
      },
      { name: 'run' },
    ),
    'runProfile',
  )
  assert.equal(result, 42)
  assert.ok(report instanceof ProfileReport)
  assert.equal(inside.length, 1)
  assert.equal(report.id, inside[0])
  assert.equal(report.name, 'run')
  assert.ok(!ids(activeProfiles()).includes(report.id))
})

test('runProfile() rethrows fn’s error with the report as err.profileReport', async () => {
  for (const isAsync of [true, false]) {
    const boom = new Error('boom')
    let id
    const body = () => {
      id = currentProfiles()[0].id
      throw boom
    }
    const fn = isAsync ? async () => body() : body
    const err = await within(
      runProfile(fn, { mainThread: false }).then(
        () => assert.fail('runProfile resolved'),
        (e) => e,
      ),
      'runProfile',
    )
    assert.equal(err, boom, 'the same error object')
    assert.ok(err.profileReport instanceof ProfileReport, `profileReport (async: ${isAsync})`)
    assert.equal(err.profileReport.id, id)
    assert.ok(!ids(activeProfiles()).includes(id), 'stopped')
  }
})

test('activeProfiles() and currentProfiles() before, during and after', async () => {
  assert.deepEqual(activeProfiles(), [])
  assert.deepEqual(currentProfiles(), [])
  const ctx = context()
  const other = context()
  const profile = ctx(() => startProfile({ mainThread: false }))
  assert.deepEqual(ids(activeProfiles()), [profile.id])
  assert.deepEqual(ids(ctx(currentProfiles)), [profile.id])
  assert.deepEqual(ctx(currentProfiles)[0].name, '')
  assert.deepEqual(other(currentProfiles), [], 'another context is not profiled')
  assert.deepEqual(currentProfiles(), [], 'nor is the test’s own')
  // Continuations of the profiled context belong to it.
  const later = await ctx(
    () => new Promise((resolve) => setImmediate(() => resolve(ids(currentProfiles())))),
  )
  assert.deepEqual(later, [profile.id])

  const stopping = profile.stop()
  assert.deepEqual(activeProfiles(), [], 'a stopping profile is no longer active')
  assert.deepEqual(ctx(currentProfiles), [])
  await within(stopping, 'stop()')
  assert.deepEqual(activeProfiles(), [])
  assert.deepEqual(ctx(currentProfiles), [])
})

test('startProfile() twice in the same async context throws ERR_PROFILE_ACTIVE', async () => {
  const ctx = context()
  // Both calls in one synchronous stretch of one context: the same async id everywhere
  // (on Node 24 a context re-entered later is a new AsyncLocalStorage frame).
  const profile = ctx(() => {
    const first = startProfile({ mainThread: false })
    assert.throws(() => startProfile({ mainThread: false }), {
      name: 'Error',
      code: 'ERR_PROFILE_ACTIVE',
    })
    return first
  })
  assert.deepEqual(ids(activeProfiles()), [profile.id], 'the first one is untouched')
  await within(profile.stop(), 'stop()')
  // Once it is over, the context can be profiled again.
  const again = ctx(() => startProfile({ mainThread: false }))
  assert.deepEqual(ids(ctx(currentProfiles)), [again.id])
  await within(again.stop(), 'stop()')
})

test('several profiles at once in different contexts, sharing a worker', async () => {
  const w = new Worker(WORK, { name: 'shared' })
  try {
    let started = 0
    let allStarted
    const barrier = new Promise((resolve) => (allStarted = resolve))
    const seen = []
    // One request at a time on the worker, so that each reply answers its own message.
    let queue = Promise.resolve()
    const serially = (fn) => (queue = queue.then(fn))
    const one = (name) =>
      runProfile(
        async () => {
          const mine = ids(currentProfiles())
          if (++started === 3) allStarted()
          await barrier
          seen.push(ids(activeProfiles()))
          const reply = await serially(() => ask(w, { fn: 'taskA', ms: 20 }))
          assert.ok(reply.active.includes(mine[0]), 'in force in the worker')
          mainWork(20)
          assert.deepEqual(ids(currentProfiles()), mine, 'only its own profile')
          return mine[0]
        },
        { name },
      )
    const runs = await within(Promise.all(['r1', 'r2', 'r3'].map(one)), 'three runProfile()')
    const reportIds = runs.map((r) => r.report.id)
    assert.deepEqual(
      runs.map((r) => r.result),
      reportIds,
    )
    assert.equal(new Set(reportIds).size, 3, 'distinct ids')
    assert.deepEqual(
      runs.map((r) => r.report.name),
      ['r1', 'r2', 'r3'],
    )
    for (const active of seen) assert.deepEqual([...active].sort(), [...reportIds].sort())
    for (const { report } of runs) {
      assert.deepEqual(
        report.threads.map((t) => [t.threadId, t.name]),
        [
          [0, 'main'],
          [w.threadId, 'shared'],
        ],
      )
    }
    assert.deepEqual(activeProfiles(), [])
  } finally {
    await within(w.terminate(), 'terminate()')
  }
})

test('options are validated; errors name the option', async () => {
  const bad = [
    [{ samplingInterval: 100 }, TypeError, /"samplingInterval"/],
    [{ name: 'x', mainthread: true }, TypeError, /"mainthread"/],
    [{ samplingIntervalUs: -1 }, RangeError, /samplingIntervalUs/],
    [{ samplingIntervalUs: 0 }, RangeError, /samplingIntervalUs/],
    [{ samplingIntervalUs: 1.5 }, RangeError, /samplingIntervalUs/],
    [{ samplingIntervalUs: NaN }, RangeError, /samplingIntervalUs/],
    [{ samplingIntervalUs: '1000' }, TypeError, /samplingIntervalUs/],
    [{ stopTimeoutMs: 0 }, RangeError, /stopTimeoutMs/],
    [{ stopTimeoutMs: -5 }, RangeError, /stopTimeoutMs/],
    [{ stopTimeoutMs: NaN }, RangeError, /stopTimeoutMs/],
    [{ stopTimeoutMs: Infinity }, RangeError, /stopTimeoutMs/],
    [{ stopTimeoutMs: '2000' }, TypeError, /stopTimeoutMs/],
    [{ stopTimeoutMs: null }, TypeError, /stopTimeoutMs/],
    [{ mainThread: 'yes' }, TypeError, /mainThread/],
    [{ name: 7 }, TypeError, /name/],
    ['fast', TypeError, /options/],
    [null, TypeError, /options/],
  ]
  for (const [options, type, message] of bad) {
    const what = pw.serialize(options) ?? String(options)
    assert.throws(
      () => context()(() => startProfile(options)),
      { name: type.name, message },
      `startProfile(${what})`,
    )
    await assert.rejects(
      runProfile(() => 1, options),
      { name: type.name, message },
      `runProfile(fn, ${what})`,
    )
  }
  assert.deepEqual(activeProfiles(), [], 'no profile was left behind')

  for (const fn of [undefined, null, 'fn', {}]) {
    await assert.rejects(runProfile(fn), { name: 'TypeError', message: /\bfn\b/ }, String(fn))
  }

  // Valid values are accepted.
  const { report } = await within(
    runProfile(() => mainWork(20), {
      samplingIntervalUs: 200,
      stopTimeoutMs: 500,
      mainThread: true,
      name: 'ok',
    }),
    'runProfile',
  )
  assert.equal(report.name, 'ok')
})

test('recordEffect() validates at the call and records for the current profiles', async () => {
  assert.equal(recordEffect('outside', 1), 0, 'no profile, nothing recorded')
  for (const name of ['', 5, undefined, null, Symbol('s')]) {
    assert.throws(() => recordEffect(name, 1), { name: 'TypeError', message: /name/ })
  }
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  assert.throws(() => recordEffect('cyclic', cyclic), TypeError, 'outside a profile too')

  const { report } = await within(
    runProfile(() => {
      assert.throws(() => recordEffect('cyclic', cyclic), TypeError)
      assert.throws(() => recordEffect('', 1), TypeError)
      assert.equal(recordEffect('query', { rows: 3, bytes: 2n ** 70n }), 1)
      assert.equal(recordEffect('no data'), 1)
    }),
    'runProfile',
  )
  const custom = report.thread(0).effects.custom
  assert.deepEqual(
    custom.map((e) => [e.name, e.data]),
    [
      ['query', { rows: 3, bytes: 2n ** 70n }],
      ['no data', null],
    ],
  )
  for (const e of custom) assert.ok(report.startNs <= e.atNs && e.atNs <= report.endNs)

  // Without the main thread there is no thread 0 to report a main-thread effect in.
  const { result, report: noMain } = await within(
    runProfile(() => recordEffect('lost?', 1), { mainThread: false }),
    'runProfile',
  )
  assert.equal(result, 0, 'not recorded, and not counted')
  assert.deepEqual(noMain.threads, [])
})

test('toPprof(): one pprof, every sample labelled with thread_id, thread_name and profile_id', async () => {
  const w = new Worker(WORK, { name: 'pprof-worker' })
  try {
    const { report } = await within(
      runProfile(async () => {
        await ask(w, { fn: 'taskA', ms: 100 })
        mainWork(100)
      }),
      'runProfile',
    )
    const profile = Profile.decode(zlib.gunzipSync(report.toPprof()))
    const str = (i) => profile.stringTable.strings[Number(i)]
    assert.ok(profile.sample.length > 0)
    const threads = new Map()
    for (const sample of profile.sample) {
      const labels = Object.fromEntries(sample.label.map((l) => [str(l.key), l]))
      assert.deepEqual(Object.keys(labels).sort(), ['profile_id', 'thread_id', 'thread_name'])
      assert.equal(str(labels.profile_id.str), String(report.id))
      threads.set(Number(labels.thread_id.num), str(labels.thread_name.str))
    }
    assert.deepEqual(
      [...threads].sort((a, b) => a[0] - b[0]),
      [
        [0, 'main'],
        [w.threadId, 'pprof-worker'],
      ],
    )
    const types = profile.sampleType.map((t) => str(t.type))
    assert.deepEqual(types, ['samples', 'wall', 'cpu'], 'cpu too: every thread has its CPU time')
  } finally {
    await within(w.terminate(), 'terminate()')
  }
})

test('toCollapsed() puts every stack under its thread; toCpuprofiles() gives one per thread', async () => {
  const named = new Worker(WORK, { name: 'collapse-me' })
  const unnamed = new Worker(WORK)
  try {
    const { report } = await within(
      runProfile(async () => {
        await ask(named, { fn: 'taskA', ms: 100 })
        await ask(unnamed, { fn: 'taskB', ms: 100 })
        mainWork(100)
      }),
      'runProfile',
    )
    const labels = [
      'main (thread 0)',
      `collapse-me (thread ${named.threadId})`,
      `worker ${unnamed.threadId} (thread ${unnamed.threadId})`,
    ]
    const lines = report.toCollapsed().split('\n').filter(Boolean)
    const seen = new Set()
    for (const line of lines) {
      assert.match(line, / \d+$/)
      const label = labels.find((l) => line.startsWith(`${l};`))
      assert.ok(label, `line starts with a thread label: ${line.slice(0, 80)}`)
      seen.add(label)
    }
    assert.deepEqual([...seen].sort(), [...labels].sort(), 'every thread has stacks')
    assert.ok(lines.some((l) => l.startsWith(labels[1]) && l.includes(';taskA (')))
    assert.ok(lines.some((l) => l.startsWith(labels[2]) && l.includes(';taskB (')))

    const files = report.toCpuprofiles()
    assert.deepEqual(
      files.map((f) => [f.threadId, f.name]),
      report.threads.map((t) => [t.threadId, t.name]),
    )
    for (const f of files) assert.ok(pw.CpuProfile.parse(f.json).sampleCount > 0)
  } finally {
    await within(Promise.all([named.terminate(), unnamed.terminate()]), 'terminate()')
  }
})

test('in a worker: currentProfiles() lists its profiles; starting or stopping one is main-thread only', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads')
    const pw = require(${JSON.stringify(ROOT)})
    parentPort.on('message', async () => {
      const codes = []
      try { pw.startProfile() } catch (e) { codes.push(e.code) }
      await pw.runProfile(() => 1).catch((e) => codes.push(e.code))
      const current = pw.currentProfiles()
      try { await current[0].stop() } catch (e) { codes.push(e.code) }
      parentPort.postMessage({ codes, current: current.map((p) => [p.id, p.name, p.state]) })
    })`
  let w
  try {
    const { result, report } = await within(
      runProfile(
        () => {
          w = new Worker(code, { eval: true })
          return ask(w, 'go')
        },
        { name: 'from main', mainThread: false },
      ),
      'runProfile',
    )
    assert.deepEqual(result, {
      codes: ['ERR_PROFILE_THREAD', 'ERR_PROFILE_THREAD', 'ERR_PROFILE_THREAD'],
      current: [[report.id, 'from main', 'active']],
    })
  } finally {
    if (w) await within(w.terminate(), 'terminate()')
  }
})
