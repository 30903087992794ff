'use strict'
// Robustness: never a hang, crash, leak or lost profile. Workers that fail in every way
// while a profile is active, terminate() at every awkward moment, profiles stopped at
// awkward moments, many cycles in one process, bad input, and user code that pokes at
// what it should not see. Every wait is bounded (within()), every case reports the
// thread's status, and no promise rejection may go unhandled.
// (Workers too busy to answer are covered elsewhere.)
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const wt = require('node:worker_threads')

const unhandled = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const PlainWorker = wt.Worker // captured before the patch
const pw = require('..')
const hub = require('../lib/hub')
const { RUNTIME_PATH, ENVELOPE } = require('../lib/constants')
const { startProfile, runProfile } = pw
const {
  within,
  runScript,
  context,
  ask,
  samplesUnder,
  threadOf,
  fixture,
  assertEffectsHome,
} = require('./helpers')

const Worker = wt.Worker // patched
const WORK = fixture('work.js')
const ECHO = fixture('echo.js')
const CRASH = fixture('crash.js')

/** Everything a worker says and does, from its creation on; `waitFor` is bounded. */
function watch(w) {
  const seen = { messages: [], errors: [], exitCode: undefined }
  const waiters = new Set()
  const check = () => {
    for (const waiter of [...waiters]) waiter()
  }
  w.on('message', (m) => (seen.messages.push(m), check()))
  w.on('error', (e) => (seen.errors.push(e), check()))
  w.on('exit', (code) => ((seen.exitCode = code), check()))
  seen.waitFor = (predicate, what) =>
    within(
      new Promise((resolve) => {
        const waiter = () => {
          const hit = predicate(seen)
          if (hit !== undefined && hit !== false) (waiters.delete(waiter), resolve(hit))
        }
        waiters.add(waiter)
        waiter()
      }),
      what,
    )
  seen.exited = () => seen.waitFor((s) => s.exitCode !== undefined && s.exitCode, "'exit'")
  seen.message = (predicate, what) =>
    seen.waitFor((s) => s.messages.find(predicate), what ?? 'a message')
  return seen
}

/** The main thread was profiled alongside and is unharmed. */
function mainIsFine(report) {
  const main = threadOf(report, 0)
  assert.equal(main.status, 'ok', 'main thread status')
  assert.deepEqual(main.effects.errors, [])
  assertEffectsHome(main)
}

/** No profile or session is left behind (a leak). */
function nothingLeftBehind() {
  assert.deepEqual(pw.activeProfiles(), [], 'no active profile left')
  assert.equal(hub.sessions.size, 0, 'no session left in the hub')
}

async function terminateAll(...workers) {
  await Promise.all(workers.map((w) => within(w.terminate(), 'terminate()')))
}

const statusOf = (t) =>
  `${t.status} (exitCode ${t.exitCode}, errors ${JSON.stringify(t.effects.errors)})`

// ---------------------------------------------------------------------------------------
// A worker that fails while a profile is active

test('a worker that throws at startup: stop() resolves, thread crashed, samples up to the throw', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(CRASH, { workerData: { mode: 'throw-at-startup', ms: 150 } }))
  const threadId = w.threadId
  const seen = watch(w)
  assert.equal(await seen.exited(), 1)
  assert.deepEqual(
    seen.errors.map((e) => e.message),
    ['thrown at startup'],
  )
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.deepEqual(
    t.effects.errors.map((e) => e.message),
    ['thrown at startup'],
  )
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the throw came home')
  mainIsFine(report)
  nothingLeftBehind()

  // A script that cannot even be loaded fails the same way.
  const ctx2 = context()
  const profile2 = ctx2(() => startProfile())
  const missing = ctx2(() => new Worker(fixture('no-such-file.js')))
  const missingId = missing.threadId
  const seen2 = watch(missing)
  assert.equal(await seen2.exited(), 1)
  assert.equal(seen2.errors[0]?.code, 'MODULE_NOT_FOUND')
  const report2 = await within(profile2.stop(), 'stop()')
  const t2 = threadOf(report2, missingId)
  assert.equal(t2.status, 'crashed', statusOf(t2))
  assert.match(t2.effects.errors[0].message, /no-such-file/)
  mainIsFine(report2)
  nothingLeftBehind()
})

test('a worker that throws in a message handler: crashed, samples up to the throw', async () => {
  const w = new Worker(CRASH, { workerData: { mode: 'throw' } }) // a pool's worker
  const threadId = w.threadId
  const seen = watch(w)
  const ctx = context()
  const profile = ctx(() => startProfile())
  ctx(() => w.postMessage({ ms: 150 }))
  assert.equal(await seen.exited(), 1)
  assert.deepEqual(
    seen.errors.map((e) => e.message),
    ['thrown in a handler'],
  )
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.deepEqual(
    t.effects.errors.map((e) => e.message),
    ['thrown in a handler'],
  )
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the throw came home')
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker that calls process.exit(7): exited with code 7, samples up to the exit', async () => {
  const w = new Worker(CRASH, { workerData: { mode: 'exit' } })
  const threadId = w.threadId
  const seen = watch(w)
  const ctx = context()
  const profile = ctx(() => startProfile())
  ctx(() => w.postMessage({ ms: 150, code: 7 }))
  assert.equal(await seen.exited(), 7)
  assert.deepEqual(seen.errors, [])
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, 7)
  assert.deepEqual(t.effects.errors, [])
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the exit came home')
  assertEffectsHome(t)
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker that runs out of memory (maxOldGenerationSizeMb: 8): crashed, exit code 1, ERR_WORKER_OUT_OF_MEMORY recorded', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(
    () =>
      new Worker(CRASH, {
        workerData: { mode: 'oom' },
        resourceLimits: { maxOldGenerationSizeMb: 8 },
      }),
  )
  const threadId = w.threadId
  const seen = watch(w)
  ctx(() => w.postMessage({ ms: 50 }))
  assert.equal(await seen.exited(), 1)
  assert.deepEqual(
    seen.errors.map((e) => e.code),
    ['ERR_WORKER_OUT_OF_MEMORY'],
  )
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  // A recorded error outranks the exit code that follows it.
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.deepEqual(
    t.effects.errors.map((e) => e.code),
    ['ERR_WORKER_OUT_OF_MEMORY'],
    JSON.stringify(t.effects.errors),
  )
  // V8 kills the isolate at the heap limit: no 'exit' listener runs, so the thread's
  // samples cannot come home. The report is still whole.
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker terminated by the user while profiling: exited, samples up to the terminate', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(WORK))
  const threadId = w.threadId
  const seen = watch(w)
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 150 })), {
    done: 'taskA',
    active: [profile.id],
  })
  assert.equal(await within(w.terminate(), 'terminate()'), 1)
  assert.equal(await seen.exited(), 1)
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'the samples before the terminate came home')
  assertEffectsHome(t)
  mainIsFine(report)
  nothingLeftBehind()
})

test('a nested worker that crashes: its thread crashed, the outer worker and the main thread fine', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const outer = ctx(() => new Worker(fixture('nested-crash.js'), { name: 'outer' }))
  const outerId = outer.threadId
  const seen = watch(outer)
  const { innerThreadId } = await seen.message((m) => m.innerThreadId !== undefined)
  await seen.message((m) => m.innerExit !== undefined, 'the nested exit')
  assert.deepEqual(
    seen.messages.filter((m) => m.innerThreadId === undefined),
    [{ innerError: 'nested worker failed' }, { innerExit: 1 }],
  )
  assert.deepEqual(await ctx(() => ask(outer, { ms: 100 })), { done: 100 }, 'outer still answers')
  const report = await within(profile.stop(), 'stop()')

  const inner = threadOf(report, innerThreadId)
  assert.equal(inner.name, 'inner')
  assert.equal(inner.status, 'crashed', statusOf(inner))
  assert.equal(inner.exitCode, 1)
  assert.deepEqual(
    inner.effects.errors.map((e) => e.message),
    ['nested worker failed'],
  )
  assert.ok(samplesUnder(inner.profile, 'innerWork') > 0, 'the nested samples before the throw')
  const o = threadOf(report, outerId)
  assert.equal(o.status, 'ok', statusOf(o))
  assert.ok(samplesUnder(o.profile, 'outerWork') > 0, 'the outer worker’s samples')
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(seen.errors, [])
  await terminateAll(outer)
})

// ---------------------------------------------------------------------------------------
// terminate() at awkward moments

test("terminate() before 'online': resolves with the plain Worker's exit code", async () => {
  const plainCode = await within(new PlainWorker(ECHO).terminate(), 'plain terminate()')

  const unprofiled = new Worker(ECHO)
  const seenUnprofiled = watch(unprofiled)
  const unprofiledCode = await within(unprofiled.terminate(), 'terminate()')
  assert.equal(await seenUnprofiled.exited(), unprofiledCode)
  assert.equal(unprofiledCode, plainCode, 'outside a profile')

  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(ECHO))
  const threadId = w.threadId
  const seen = watch(w)
  const code = await within(
    ctx(() => w.terminate()),
    'terminate()',
  )
  assert.equal(await seen.exited(), code, "terminate() resolves with the 'exit' code")
  assert.deepEqual(seen.errors, [])
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, code)
  mainIsFine(report)
  nothingLeftBehind()
  assert.equal(code, plainCode, 'inside a profile, as the plain Worker')
})

test('terminate() twice concurrently: both resolve with the plain Worker’s exit code', async () => {
  const plain = new PlainWorker(ECHO)
  assert.equal(await ask(plain, 'hi'), 'hi')
  const plainCodes = await within(
    Promise.all([plain.terminate(), plain.terminate()]),
    'plain terminate() x2',
  )
  assert.deepEqual(plainCodes, [1, 1])

  for (const profiled of [false, true]) {
    const ctx = context()
    const profile = profiled ? ctx(() => startProfile()) : null
    const w = ctx(() => new Worker(ECHO))
    const threadId = w.threadId
    const seen = watch(w)
    assert.equal(await ctx(() => ask(w, 'hi')), 'hi')
    const codes = await within(
      ctx(() => Promise.all([w.terminate(), w.terminate()])),
      'terminate() x2',
    )
    assert.deepEqual(codes, plainCodes, `profiled: ${profiled}`)
    assert.equal(await seen.exited(), 1)
    if (profile) {
      const report = await within(profile.stop(), 'stop()')
      const t = threadOf(report, threadId)
      assert.equal(t.status, 'exited', statusOf(t))
      assert.equal(t.exitCode, 1)
      assertEffectsHome(t)
      mainIsFine(report)
    }
    nothingLeftBehind()
  }
})

test("terminate() after 'exit': resolves as the plain Worker's does, no hang", async () => {
  const plain = new PlainWorker(ECHO)
  const plainSeen = watch(plain)
  plain.postMessage('exit:0')
  assert.equal(await plainSeen.exited(), 0)
  const plainResult = await within(plain.terminate(), 'plain terminate()')

  // Profile still active when terminate() is called, and already stopped.
  for (const stopFirst of [false, true]) {
    const ctx = context()
    const profile = ctx(() => startProfile())
    const w = ctx(() => new Worker(ECHO))
    const threadId = w.threadId
    const seen = watch(w)
    ctx(() => w.postMessage('exit:0'))
    assert.equal(await seen.exited(), 0)
    const report = stopFirst ? await within(profile.stop(), 'stop()') : null
    assert.equal(await within(w.terminate(), 'terminate()'), plainResult)
    assert.equal(await within(w.terminate(), 'terminate() again'), plainResult)
    const r = report ?? (await within(profile.stop(), 'stop()'))
    const t = threadOf(r, threadId)
    assert.equal(t.status, 'exited', statusOf(t))
    assert.equal(t.exitCode, 0)
    mainIsFine(r)
    nothingLeftBehind()
  }
})

test('terminate() right after the postMessage that starts a profile', async () => {
  const plain = new PlainWorker(WORK)
  assert.equal((await ask(plain, { fn: 'taskB', ms: 1 })).done, 'taskB')
  plain.postMessage({ fn: 'taskA', ms: 100 })
  const plainCode = await within(plain.terminate(), 'plain terminate()')

  const w = new Worker(WORK) // a pool's worker, idle and not profiled
  const threadId = w.threadId
  assert.deepEqual(await ask(w, { fn: 'taskB', ms: 1 }), { done: 'taskB', active: [] })
  const seen = watch(w)
  const ctx = context()
  const profile = ctx(() => startProfile())
  const code = await within(
    ctx(() => {
      w.postMessage({ fn: 'taskA', ms: 100 }) // sends the start ahead of the message
      return w.terminate()
    }),
    'terminate()',
  )
  assert.equal(code, plainCode, 'as the plain Worker')
  assert.equal(await seen.exited(), code)
  assert.deepEqual(seen.errors, [])
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, code)
  // The record came home; its times may be 0: terminate() can land before the task ran.
  assert.equal(typeof t.effects.cpuTimeNs, 'bigint')
  assert.equal(typeof t.effects.wallTimeNs, 'bigint')
  mainIsFine(report)
  nothingLeftBehind()
})

test('terminate() while the profile is stopping, in either order', async () => {
  for (const terminateFirst of [false, true]) {
    const w = new Worker(WORK)
    const threadId = w.threadId
    const seen = watch(w)
    const ctx = context()
    const profile = ctx(() => startProfile())
    assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 150 })), {
      done: 'taskA',
      active: [profile.id],
    })
    const [report, code] = terminateFirst
      ? (
          await within(Promise.all([w.terminate(), profile.stop()]), 'terminate() and stop()')
        ).reverse()
      : await within(Promise.all([profile.stop(), w.terminate()]), 'stop() and terminate()')
    assert.equal(code, 1, `terminate() resolved (terminate first: ${terminateFirst})`)
    assert.equal(await seen.exited(), 1)
    assert.deepEqual(seen.errors, [])
    const t = threadOf(report, threadId)
    // Whether the exit lands inside the profile or just after it depends on the race.
    assert.ok(['ok', 'exited'].includes(t.status), statusOf(t))
    if (t.status === 'exited') assert.equal(t.exitCode, 1)
    assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'the samples before the stop came home')
    assertEffectsHome(t)
    mainIsFine(report)
    nothingLeftBehind()
  }
})

// ---------------------------------------------------------------------------------------
// Profiles stopped at awkward moments

test('a profile stopped while its worker is still starting', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(WORK, { workerData: { startup: 50 } }))
  const threadId = w.threadId
  const seen = watch(w)
  const report = await within(profile.stop(), 'stop()') // the worker has not run a line yet
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', statusOf(t))
  mainIsFine(report)
  nothingLeftBehind()
  // The stop reached the worker: it runs on, no longer profiling, even for that context.
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 1 })), { done: 'taskA', active: [] })
  assert.deepEqual(seen.errors, [])
  await terminateAll(w)
})

test('stop() twice: the same promise and report; the worker stops once', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(WORK))
  const threadId = w.threadId
  await ctx(() => ask(w, { fn: 'taskA', ms: 100 }))
  const first = profile.stop()
  const second = profile.stop()
  assert.equal(first, second)
  const report = await within(first, 'stop()')
  assert.equal(await within(profile.stop(), 'stop() again'), report)
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', statusOf(t))
  assert.ok(samplesUnder(t.profile, 'taskA') > 0)
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 1 })), { done: 'taskA', active: [] })
  await terminateAll(w)
})

test('20 profiles over 3 shared workers, stopped all at once', async () => {
  const workers = [1, 2, 3].map((i) => new Worker(WORK, { name: `shared-${i}` }))
  const seen = workers.map(watch)
  const contexts = Array.from({ length: 20 }, (_, i) => context(`profile-${i}`))
  const profiles = contexts.map((ctx, i) => ctx(() => startProfile({ name: `p${i}` })))
  // Every profile sends each worker a message: each worker now profiles for all 20.
  for (const ctx of contexts)
    for (const w of workers) ctx(() => w.postMessage({ fn: 'taskA', ms: 1 }))
  const replies = (n) => (s) => s.messages.length >= n && s.messages
  const first = await Promise.all(seen.map((s) => s.waitFor(replies(20), '20 replies')))
  // Each task ran for the profile that sent it, in the order sent.
  for (const messages of first) {
    assert.deepEqual(
      messages.map((m) => m.active),
      profiles.map((p) => [p.id]),
    )
  }
  // Work for every profile, each sending its own.
  for (const ctx of contexts)
    for (const w of workers) ctx(() => w.postMessage({ fn: 'taskB', ms: 25 }))
  await Promise.all(seen.map((s) => s.waitFor(replies(40), 'the taskB replies')))

  const reports = await within(Promise.all(profiles.map((p) => p.stop())), '20 x stop()')
  for (const [i, report] of reports.entries()) {
    assert.equal(report.name, `p${i}`)
    assert.deepEqual(
      report.threads.map((t) => t.threadId),
      [0, ...workers.map((w) => w.threadId)],
    )
    for (const w of workers) {
      const t = threadOf(report, w.threadId)
      assert.equal(t.status, 'ok', `p${i}, ${t.name}: ${statusOf(t)}`)
      assert.ok(samplesUnder(t.profile, 'taskB') > 0, `p${i}, ${t.name}: taskB samples`)
      assertEffectsHome(t)
    }
    mainIsFine(report)
  }
  nothingLeftBehind()
  for (const w of workers) {
    assert.deepEqual(await ask(w, { fn: 'taskA', ms: 1 }), { done: 'taskA', active: [] })
  }
  for (const s of seen) assert.deepEqual(s.errors, [])
  await terminateAll(...workers)
})

test('200 cycles of create → profile → terminate while profiling, in one process', () => {
  const r = runScript(fixture('cycles.js'), { args: [], timeout: 120_000 })
  assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1))
  assert.deepEqual(result, { cycles: 200, reports: 200, odd: [], oddCount: 0, active: 0 })
})

// ---------------------------------------------------------------------------------------
// Bad input

test('invalid options and arguments throw errors naming them', async () => {
  const bad = [
    [{ samplingIntervalUs: -1 }, RangeError, /samplingIntervalUs/],
    [{ samplingIntervalUs: 'often' }, TypeError, /samplingIntervalUs/],
    [{ samplingIntervalUs: 1000, sampleRate: 5 }, TypeError, /"sampleRate"/],
  ]
  for (const [options, type, message] of bad) {
    assert.throws(() => context()(() => startProfile(options)), { name: type.name, message })
    await assert.rejects(
      runProfile(() => 1, options),
      { name: type.name, message },
    )
  }
  for (const fn of [undefined, 'fn', { call() {} }]) {
    await assert.rejects(runProfile(fn), { name: 'TypeError', message: /\bfn\b/ })
  }
  nothingLeftBehind()
})

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// Values a start must not accept. A valid start has a positive integer id and an integer
// intervalUs from 1 to 1 000 000 (what startProfile accepts).
const BAD_IDS = [undefined, null, NaN, -1, 0, 1.5, Infinity, -Infinity, '7', 7n, true, {}, [7]]
const BAD_INTERVALS = [
  undefined,
  null,
  NaN,
  0,
  -1,
  0.5,
  1.5,
  Infinity,
  -Infinity,
  1e6 + 1,
  1e12,
  '100',
  '',
  100n,
  true,
  {},
  [5],
  { valueOf: 5 },
]
const TYPES = [
  'start',
  'stop',
  'stop-all',
  'chunk',
  'effects',
  'error',
  'exit',
  'stopped',
  'stopped-all',
  '',
  'START',
  'constructor',
  '__proto__',
  'toString',
]

function fuzzMessages(count, rand) {
  const pick = (list) => list[Math.floor(rand() * list.length)]
  const value = (depth) => {
    const kinds = [
      () => rand() * 2e6 - 1e6,
      () => Math.floor(rand() * 100),
      () => pick([NaN, Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE]),
      () => BigInt(Math.floor(rand() * 1e9)) ** 3n,
      () => 'x'.repeat(Math.floor(rand() * 50)),
      () => pick(TYPES),
      () => pick([true, false, null, undefined]),
      () => new Date(Math.floor(rand() * 1e12)),
      () => new Uint8Array(Math.floor(rand() * 16)),
      () => new Error('fuzz'),
      () => new Map([[pick(TYPES), value(depth - 1)]]),
      () => new Set([value(depth - 1)]),
      () => (depth > 0 ? Array.from({ length: 3 }, () => value(depth - 1)) : []),
      () =>
        depth > 0
          ? Object.fromEntries(
              Array.from({ length: 3 }, () => [
                pick([...TYPES, 't', 'id', 'ids', 'intervalUs']),
                value(depth - 1),
              ]),
            )
          : {},
    ]
    return pick(kinds)()
  }
  const badStart = () => {
    const badId = rand() < 0.5
    const badInterval = !badId || rand() < 0.5
    return {
      t: 'start',
      id: badId ? pick(BAD_IDS) : 1 + Math.floor(rand() * 1000),
      intervalUs: badInterval ? pick(BAD_INTERVALS) : 1 + Math.floor(rand() * 1e6),
      name: value(1),
      startNs: value(0),
      stopTimeoutMs: value(0),
    }
  }
  const makers = [
    () => value(2),
    () => ({ t: pick(TYPES), ...value(2) }),
    () => ({ t: pick(TYPES), id: value(1), ids: value(1), json: value(1) }),
    badStart,
    badStart,
    () => ({ t: 'stop', id: value(0) }),
    () => ({ t: 'stop-all', extra: value(1) }),
    () => ({ t: new String('start'), id: 1, intervalUs: 1000 }),
    () => [{ t: 'start', id: 1, intervalUs: 1000 }],
  ]
  // Every bad id and every bad interval at least once, then random ones.
  const messages = [
    ...BAD_IDS.map((id) => ({ t: 'start', id, intervalUs: 1000 })),
    ...BAD_INTERVALS.map((intervalUs) => ({ t: 'start', id: 1, intervalUs })),
  ]
  while (messages.length < count) messages.push(pick(makers)())
  return messages
}

test('the worker runtime ignores thousands of random and malformed APM messages', async () => {
  // A plain Worker with the runtime preloaded and an envelope whose port we own: the
  // main side of the APM channel is ours to fuzz.
  const { port1: apm, port2 } = new wt.MessageChannel()
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    parentPort.on('message', (m) => parentPort.postMessage({ echo: m, workerData }))`
  const w = new PlainWorker(code, {
    eval: true,
    execArgv: ['--require', RUNTIME_PATH],
    workerData: {
      [ENVELOPE]: { port: port2, execArgv: [], threadName: 't', start: [] },
      workerData: 'user',
    },
    transferList: [port2],
  })
  const seen = watch(w)
  const fromRuntime = []
  apm.on('message', (m) => fromRuntime.push(m))
  try {
    const rand = random(0x5eed)
    const fuzz = fuzzMessages(3000, rand)
    const sent = []
    for (const [i, m] of fuzz.entries()) {
      apm.postMessage(m)
      if (i % 50 === 49) {
        const user = { seq: sent.length, payload: i % 100 === 99 ? { t: 'start', id: 1 } : i }
        sent.push(user)
        w.postMessage(user)
      }
    }
    const failed = (s) =>
      s.exitCode !== undefined || s.errors.length > 0
        ? `the worker died: exit ${s.exitCode}, errors: ${s.errors.map((e) => e.message)}`
        : false
    const outcome = await seen.waitFor(
      (s) => failed(s) || (s.messages.length === sent.length && 'answered'),
      'every user message answered',
    )
    assert.equal(outcome, 'answered')
    assert.deepEqual(
      seen.messages,
      sent.map((m) => ({ echo: m, workerData: 'user' })),
      'user messages answered correctly and in order',
    )
    // Nothing was started: stopping everything sends no profile data home.
    const stoppedAll = new Promise((resolve) =>
      apm.on('message', (m) => m?.t === 'stopped-all' && resolve(m)),
    )
    apm.postMessage({ t: 'stop-all' })
    assert.deepEqual(await within(stoppedAll, 'stopped-all'), { t: 'stopped-all', timedOut: [] })
    assert.deepEqual(
      fromRuntime.filter((m) => !['stopped', 'stopped-all'].includes(m?.t)).map((m) => m?.t),
      [],
      'no profile was started by a malformed message',
    )
    assert.deepEqual(await ask(w, 'still there?'), { echo: 'still there?', workerData: 'user' })
  } finally {
    apm.close()
    await within(w.terminate(), 'terminate()')
  }
})

// ---------------------------------------------------------------------------------------
// User code that pokes at things

test('user workerData with our envelope key name reaches the worker unchanged', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const d = workerData.__profiledWorkerEnvelope_v1
    if (d && d.port) d.port.postMessage('via user port')
    parentPort.postMessage({ keys: Object.keys(workerData), value: d && d.port ? { ...d, port: d.port.constructor.name } : d })`
  const cases = [
    () => ({ workerData: { [ENVELOPE]: 'mine' } }),
    () => {
      const { port1, port2 } = new wt.MessageChannel()
      return {
        workerData: {
          [ENVELOPE]: { port: port2, execArgv: ['--x'], threadName: 'fake', start: [] },
        },
        transferList: [port2],
        userPort: port1,
      }
    },
  ]
  for (const make of cases) {
    const results = []
    for (const [W, profiled] of [
      [PlainWorker, false],
      [Worker, false],
      [Worker, true],
    ]) {
      const { userPort, ...options } = make()
      const viaPort = userPort && within(new Promise((r) => userPort.once('message', r)), 'port')
      const ctx = context()
      const profile = profiled ? ctx(() => startProfile()) : null
      const w = ctx(() => new W(code, { eval: true, ...options }))
      const threadId = w.threadId
      const seen = watch(w)
      results.push(await seen.message(() => true, 'the report'))
      if (viaPort) assert.equal(await viaPort, 'via user port')
      userPort?.close()
      assert.equal(await seen.exited(), 0)
      if (profile) {
        const report = await within(profile.stop(), 'stop()')
        const t = threadOf(report, threadId)
        assert.equal(t.status, 'exited', statusOf(t))
        assert.equal(t.name, `worker ${threadId}`, 'not the name in the user’s data')
        mainIsFine(report)
      }
      nothingLeftBehind()
    }
    assert.deepEqual(results[0].keys, [ENVELOPE])
    assert.deepEqual(results[1], results[0], 'ProfiledWorker outside a profile')
    assert.deepEqual(results[2], results[0], 'ProfiledWorker inside a profile')
  }
})

test('user code using receiveMessageOnPort on its own ports does not break profiling', async () => {
  for (const pooled of [true, false]) {
    const { port1: side, port2 } = new wt.MessageChannel()
    const options = { workerData: { port: port2 }, transferList: [port2] }
    let w = pooled ? new Worker(fixture('own-ports.js'), options) : null
    const ctx = context()
    const profile = ctx(() => startProfile())
    w ??= ctx(() => new Worker(fixture('own-ports.js'), options))
    const threadId = w.threadId
    const seen = watch(w)
    side.postMessage('side message')
    ctx(() => {
      for (const seq of [1, 2, 3]) w.postMessage({ seq, ms: 60 })
    })
    const replies = await seen.waitFor(
      (s) => s.messages.flatMap((m) => m.seqs).length >= 3 && s.messages,
      'all three handled',
    )
    assert.deepEqual(
      replies.flatMap((m) => m.seqs),
      [1, 2, 3],
    )
    assert.equal(replies[0].side, 'side message')
    assert.deepEqual(replies[0].active, [profile.id])
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, threadId)
    assert.equal(t.status, 'ok', statusOf(t))
    assert.ok(samplesUnder(t.profile, 'ownWork') > 0, `samples of the worker (pooled: ${pooled})`)
    mainIsFine(report)
    nothingLeftBehind()
    assert.deepEqual(seen.errors, [])
    side.close()
    await terminateAll(w)
  }
})

async function replacedPostMessage(mode) {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(fixture('replace-post.js'), { workerData: { mode } }))
  const threadId = w.threadId
  const seen = watch(w)
  ctx(() => w.postMessage({ ms: 150 }))
  await seen.waitFor((s) => s.messages.length > 0 || s.exitCode !== undefined, 'the reply')
  const expected = mode === 'wrap' ? { wrapped: 'done' } : 'done'
  assert.deepEqual(seen.messages, [expected], 'the user’s own messages work as the user made them')
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', statusOf(t))
  assert.ok(samplesUnder(t.profile, 'replacedWork') > 0, "the worker's samples")
  assertEffectsHome(t)
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(
    seen.errors.map((e) => e.message),
    [],
    'the worker did not crash',
  )
  assert.equal(seen.exitCode, undefined, 'the worker is still running')
  await terminateAll(w)
}

test('user code wrapping MessagePort.prototype.postMessage does not break profiling', () =>
  replacedPostMessage('wrap'))

test('user code disabling MessagePort.prototype.postMessage does not break profiling', () =>
  replacedPostMessage('lockdown'))

test('a worker of the original Worker class (captured before the patch) works, unprofiled', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new PlainWorker(WORK, { workerData: { startup: 1 } }))
  const threadId = w.threadId
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 50 })), { done: 'taskA', active: [] })
  const profiled = ctx(() => new Worker(WORK))
  await ctx(() => ask(profiled, { fn: 'taskA', ms: 1 }))
  const report = await within(profile.stop(), 'stop()')
  assert.equal(report.thread(threadId), undefined, 'the plain worker is not in the report')
  assert.deepEqual(
    report.threads.map((t) => t.threadId),
    [0, profiled.threadId],
  )
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(await ask(w, { fn: 'taskA', ms: 1 }), { done: 'taskA', active: [] })
  await terminateAll(w, profiled)
})

test('user code cannot find the APM port in workerData, execArgv, env or enumerable globals', async () => {
  const snoop = async (W, profiled) => {
    const { port1, port2 } = new wt.MessageChannel()
    const ctx = context()
    const profile = profiled ? ctx(() => startProfile()) : null
    const w = ctx(
      () =>
        new W(fixture('snoop.js'), {
          workerData: { port: port2, nested: { list: [1, { deeper: true }] } },
          transferList: [port2],
        }),
    )
    const threadId = w.threadId
    const seen = watch(w)
    const found = await seen.message(() => true, 'what the worker found')
    assert.equal(await seen.exited(), 0)
    port1.close()
    if (profile) {
      const report = await within(profile.stop(), 'stop()')
      const t = threadOf(report, threadId)
      assert.equal(t.status, 'exited', statusOf(t))
      assert.ok(samplesUnder(t.profile, 'snoopWork') > 0, 'the worker was profiled meanwhile')
      mainIsFine(report)
      nothingLeftBehind()
    }
    return found
  }
  const plain = await snoop(PlainWorker, false)
  for (const profiled of [false, true]) {
    const found = await snoop(Worker, profiled)
    assert.deepEqual(found.foreign, [], `no MessagePort but the user's (profiled: ${profiled})`)
    assert.deepEqual(found.own, [
      'user port at workerData.port',
      'user port at worker_threads.workerData.port',
    ])
    assert.deepEqual(found.execArgvSuspicious, [])
    assert.deepEqual(found.envSuspicious, [])
    assert.deepEqual(found, plain, 'the same as in a plain worker')
  }
})

// Last: nothing above left a promise rejection unhandled.
test('no unhandled promise rejection in any of the above', async () => {
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(
    unhandled.map((r) => (r instanceof Error ? r.stack : String(r))),
    [],
  )
})
