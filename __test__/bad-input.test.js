'use strict'
// Bad input: invalid options and arguments, and the private channel fed random and
// malformed messages (everything arriving there is untrusted).
const test = require('node:test')
const assert = require('node:assert/strict')
const wt = require('node:worker_threads')

const PlainWorker = wt.Worker // captured before the patch
const { RUNTIME_PATH, ENVELOPE } = require('../lib/protocol')
const pw = require('..')
const { startProfile, runProfile } = pw
const { within, context, ask, watch, nothingLeftBehind } = require('./helpers')

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
