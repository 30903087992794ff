'use strict'
// Fuzz of the private channel with fast-check: every message type, every field mutated
// (missing, wrong type, huge, negative, NaN, prototype keys), posted by a worker that
// found its port (fixtures/forger.js), and the other way, by a hostile parent. Over all
// runs at least 10,000 messages: no crash of this process, every stop() and terminate()
// resolves, no sample under a thread the forger does not own, and each message that
// fails its check is counted in the forger's report entry.
const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')

const { serialize } = require('..')
const { check, kLink } = require('../lib/protocol')
const {
  forgedProfileJson,
  forgeryScene,
  assertNothingForeign,
  threadOf,
  within,
  ask,
  nothingLeftBehind,
} = require('./helpers')

const hub = require('../lib/thread/hub')

const RUNS = [0x5eed, 0xbad, 0xf00d]
const PER_RUN = 3400
const BATCH = 200
let posted = 0

const HUGE_TEXT = 'x'.repeat(200_000)
const HUGE_LIST = Array(70_000).fill(1)
// Own `__proto__` and `constructor` keys, as structured clone and JSON.parse make them.
const PROTO_KEYS = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": 1}}')

async function until(predicate) {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** Values that break a field: wrong types, out of range, huge, prototype keys. */
const weird = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    NaN,
    Infinity,
    -Infinity,
    -1,
    0,
    -0,
    1.5,
    2 ** 53,
    -(2 ** 53),
    Number.MAX_VALUE,
    '',
    '7',
    true,
    HUGE_TEXT,
    HUGE_LIST,
    PROTO_KEYS,
    [PROTO_KEYS],
    { length: 3 },
  ),
  fc.integer(),
  fc.bigInt(),
  fc.string(),
  fc.double(),
  fc.array(fc.integer(), { maxLength: 8 }),
  fc.anything({ maxDepth: 2 }),
)

const json = forgedProfileJson(50)
const goodEffects = {
  cpuTimeNs: 1n,
  wallTimeNs: 1n,
  eventLoopUtilization: { idle: 0, active: 1, utilization: 1 },
  custom: [{ name: 'n', data: '1', atNs: 1n }],
}

/** Well-formed messages of every type, aimed at the forger's own and at foreign threads. */
function baseMessages(s) {
  const threadId = fc.constantFrom(s.forger.threadId, s.sibling.threadId, s.nestedThreadId, 999)
  const ids = fc.constantFrom([s.key], [s.key, 1], [1, 2])
  const rec = (shape) => fc.record(shape)
  const c = fc.constant
  const effectsText = fc
    .tuple(fc.constantFrom(...Object.keys(goodEffects), 'exitCode', 'dropped'), weird)
    .map(([k, v]) => {
      try {
        return serialize({ ...goodEffects, [k]: v })
      } catch {
        return '{'
      }
    })
  return fc.oneof(
    rec({ t: c('chunk'), threadId, threadName: c('forged'), ids, json: c(json) }),
    rec({
      t: c('chunk'),
      threadId,
      threadName: c('forged'),
      ids,
      json: c(json),
      spans: c({ [s.key]: [0, 1e15] }),
    }),
    rec({ t: c('effects'), id: c(s.key), threadId, threadName: c('forged'), effects: effectsText }),
    rec({ t: c('error'), threadId, threadName: c('forged'), ids, error: c({ message: 'x' }) }),
    rec({ t: c('exit'), threadId, threadName: c('forged'), ids, code: fc.integer() }),
    rec({ t: c('stopped'), id: c(s.key), timedOut: fc.constantFrom([], [999], [threadIdOf(s)]) }),
    rec({ t: c('stopped-all'), timedOut: c([]) }),
    rec({ t: c('port-gone'), k: fc.integer({ min: 1, max: 3 }) }),
    rec({ t: c('child'), threadId: fc.integer({ min: 1, max: 2000 }), parentId: threadId }),
    // What only the parent sends, and no message at all.
    rec({ t: fc.constantFrom('start', 'stop', 'task', 'untag', 'stop-all'), id: c(s.key) }),
    weird,
  )
}
const threadIdOf = (s) => s.forger.threadId

/** A base message with one field missing, replaced by a weird value, or one key added. */
function mutated(base) {
  return fc.tuple(base, fc.nat(), weird, fc.nat(3)).map(([m, pick, value, how]) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return m
    const keys = [...Object.keys(m), '__proto__', 'constructor', 'extra']
    const key = keys[pick % keys.length]
    const out = { ...m }
    if (how === 0) return m // well-formed: some must get through (or be dropped as foreign)
    if (how === 1) delete out[key]
    else Object.defineProperty(out, key, { value, enumerable: true, writable: true })
    return out
  })
}

test('a forger posting thousands of mutated messages changes nothing but its own data', async () => {
  for (const seed of RUNS) {
    const scene = await forgeryScene()
    try {
      const messages = fc.sample(mutated(baseMessages(scene)), { numRuns: PER_RUN, seed })
      // Failed checks, and port-gone for keys the link never handed out (the forger's
      // link has none: nothing was transferred into it).
      // Checked as they arrive: cloned main → forger → main (what a clone keeps of an own
      // `__proto__` key, say, depends on the Node version).
      const malformed = messages.filter((m) => {
        const ok = check.fromChild(structuredClone(structuredClone(m)))
        return ok === null || ok.t === 'port-gone'
      }).length
      for (let i = 0; i < messages.length; i += BATCH) {
        await scene.post(messages.slice(i, i + BATCH))
        posted += Math.min(BATCH, messages.length - i)
      }
      // The forger's messages travel on another port than its replies: wait until all
      // have been read before stopping, or a forged `stopped` among them could end the
      // wait for the forger's data first (its own data only, but the count would be short).
      const counted = () =>
        hub.sessions.get(scene.key).threads.get(scene.forger.threadId).dropped.malformed ?? 0
      await within(
        until(() => counted() >= malformed),
        `all ${malformed} malformed counted`,
      )
      const report = await within(scene.profile.stop(), `stop() after fuzz run ${seed}`)
      assertNothingForeign(report, scene)
      const forger = threadOf(report, scene.forger.threadId)
      assert.ok(malformed > PER_RUN / 4, `most mutations break a message (${malformed})`)
      assert.equal(forger.dropped.malformed, malformed, `seed ${seed}: every malformed counted`)
      assert.ok(forger.dropped.foreignThread > 0, 'foreign threads were aimed at and dropped')
    } finally {
      await scene.close()
    }
    nothingLeftBehind()
  }
})

test('a hostile parent posting mutated messages: the worker stays up, its stop resolves', async () => {
  const scene = await forgeryScene()
  const toChild = (s) =>
    fc.oneof(
      fc.record({ t: fc.constant('start'), id: fc.constant(s.key + 1000), intervalUs: weird }),
      fc.record({ t: fc.constant('stop'), id: weird }),
      fc.record({ t: fc.constant('task'), k: weird, n: fc.nat(), ids: weird, ports: weird }),
      fc.record({ t: fc.constant('untag'), k: fc.nat(), n: weird }),
      fc.record({ t: fc.constant('stop-all'), extra: weird }),
      weird,
    )
  try {
    // A well-formed stop would end the profile in the worker, and what it drops after
    // that counts for no profile: those are left out.
    const stops = (m) => ['stop', 'stop-all'].includes(check.toChild(m)?.t)
    const messages = fc
      .sample(mutated(toChild(scene)), { numRuns: 2000, seed: 0xc0de })
      .filter((m) => !stops(m))
    const bad = messages.filter((m) => check.toChild(structuredClone(m)) === null).length
    const port = scene.forger[kLink].port
    for (const m of messages) port.postMessage(m)
    posted += messages.length
    assert.deepEqual(await ask(scene.forger, { op: 'work', ms: 1 }), { worked: 1 })
    const report = await within(scene.profile.stop(), 'stop() after the hostile parent')
    const forger = threadOf(report, scene.forger.threadId)
    assert.equal(forger.dropped.fromParent, bad, 'each bad message from the parent counted')
  } finally {
    await scene.close()
  }
  nothingLeftBehind()
})

test.after(() => assert.ok(posted >= 10_000, `${posted} messages fuzzed`))
