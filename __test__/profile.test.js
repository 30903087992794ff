'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { gunzipSync } = require('node:zlib')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { Profile: PprofProfile } = require('pprof-format')
const { CpuProfile, Report, mergeProfiles, threadCpuTime } = require('..')
const { recordProfile, ROOT } = require('./helpers')

let raw // one real profile of this thread, shared by the tests below
test.before(async () => {
  raw = await recordProfile({ ms: 200, intervalUs: 200 })
})

const stackNames = (text) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.slice(0, l.lastIndexOf(' ')))

test('parses a real V8 profile without losing anything', () => {
  const p = CpuProfile.parse(JSON.stringify(raw))
  assert.equal(p.sampleCount, raw.samples.length)
  assert.equal(p.nodeCount, raw.nodes.length)
  assert.equal(p.startTime, raw.startTime)
  assert.equal(p.endTime, raw.endTime)
  assert.ok(p.sampleCount > 100, `only ${p.sampleCount} samples`)
  // .cpuprofile out is V8's own schema and content.
  const out = JSON.parse(p.toCpuprofile())
  assert.deepEqual(out.samples, raw.samples)
  assert.deepEqual(out.timeDeltas, raw.timeDeltas)
  const strip = (n) => ({ ...n, children: n.children ?? [], positionTicks: n.positionTicks ?? [] })
  assert.deepEqual(out.nodes.map(strip), raw.nodes.map(strip))
  assert.deepEqual(
    CpuProfile.parse(Buffer.from(JSON.stringify(raw))).toCpuprofile(),
    p.toCpuprofile(),
  )
})

test('rejects malformed profiles with an error naming the field', () => {
  const mutate = (fn) => {
    const copy = structuredClone(raw)
    fn(copy)
    return JSON.stringify(copy)
  }
  const last = raw.nodes.length - 1
  const lastId = raw.nodes[last].id
  const cases = [
    [
      mutate((p) => delete p.nodes[last].callFrame.url),
      `nodes[${last}] (id ${lastId}).callFrame.url`,
    ],
    [mutate((p) => (p.nodes[1].callFrame.lineNumber = 'x')), 'nodes[1].callFrame.lineNumber'],
    [mutate((p) => delete p.nodes[2].id), 'nodes[2].id'],
    [mutate((p) => p.samples.push(987654321)), 'timeDeltas'],
    [mutate((p) => (p.samples[0] = 987654321)), 'samples[0]: refers to unknown node id 987654321'],
    [
      mutate((p) => (p.nodes[0].children = [...(p.nodes[0].children ?? []), 424242])),
      'refers to unknown node id 424242',
    ],
    [mutate((p) => (p.endTime = p.startTime - 1)), 'endTime'],
    [mutate((p) => delete p.startTime), 'startTime'],
    [mutate((p) => (p.nodes = [])), 'nodes'],
    ['{"nodes": [', 'EOF'],
    ['42', 'invalid type'],
  ]
  for (const [text, expected] of cases) {
    assert.throws(
      () => CpuProfile.parse(text),
      (err) => {
        assert.match(err.message, /^invalid CPU profile/)
        assert.ok(err.message.includes(expected), `expected "${expected}" in: ${err.message}`)
        return true
      },
    )
  }
  assert.throws(() => CpuProfile.parse(42), /string|Buffer|buffer/i)
})

test('random garbage is rejected with an error, never crashes or parses', () => {
  const text = JSON.stringify(raw)
  let seed = 1
  const rnd = (n) => (seed = (seed * 48271) % 2147483647) % n
  const isJson = (buf) => {
    try {
      JSON.parse(buf.toString())
      return true
    } catch {
      return false
    }
  }
  const rejects = (buf, what) =>
    assert.throws(() => CpuProfile.parse(buf), { message: /^invalid CPU profile/ }, what)
  for (let i = 0; i < 300; i++) {
    const buf = Buffer.from(text)
    for (let k = 0; k < 5; k++) buf[rnd(buf.length)] = rnd(256)
    // A proper prefix of a JSON object is never JSON, whatever the bytes changed.
    rejects(buf.subarray(0, rnd(buf.length)), `case ${i}, cut`)
    // The whole buffer may still be JSON (a changed digit or letter): then it may parse,
    // as JSON.parse would; anything that is not JSON must be rejected.
    if (!isJson(buf)) rejects(buf, `case ${i}, whole`)
  }
})

test('window keeps exactly the samples inside [t0, t1] and prunes the tree', () => {
  const p = CpuProfile.parse(JSON.stringify(raw))
  const stamps = []
  raw.timeDeltas.reduce((t, d) => (stamps.push(t + d), t + d), raw.startTime)
  const t0 = stamps[Math.floor(stamps.length / 4)]
  const t1 = stamps[Math.floor((stamps.length * 3) / 4)]
  const w = p.window(t0, t1)
  assert.equal(w.sampleCount, stamps.filter((t) => t >= t0 && t <= t1).length)
  const out = JSON.parse(w.toCpuprofile())
  const wStamps = []
  out.timeDeltas.reduce((t, d) => (wStamps.push(t + d), t + d), out.startTime)
  assert.ok(wStamps.every((t) => t >= t0 && t <= t1))
  assert.deepEqual([out.startTime, out.endTime], [t0, t1])
  // Every node left has a sample in its subtree.
  const byId = new Map(out.nodes.map((n) => [n.id, n]))
  const subtree = (n) =>
    n.hitCount + (n.children ?? []).reduce((s, c) => s + subtree(byId.get(c)), 0)
  assert.ok(out.nodes.slice(1).every((n) => subtree(n) > 0))
  // ...and exactly the nodes on the stacks of the samples kept (and the root) are left.
  const parent = new Map()
  for (const n of raw.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const onStacks = new Set([raw.nodes[0].id])
  raw.samples.forEach((id, i) => {
    if (stamps[i] < t0 || stamps[i] > t1) return
    for (let x = id; x !== undefined; x = parent.get(x)) onStacks.add(x)
  })
  assert.ok(onStacks.size < raw.nodes.length, 'the window leaves some stacks out')
  assert.equal(out.nodes.length, onStacks.size)
  // Adjacent windows partition the samples.
  assert.equal(
    p.window(-Infinity, t0 - 1).sampleCount +
      w.sampleCount +
      p.window(t1 + 1, Infinity).sampleCount,
    p.sampleCount,
  )
  assert.equal(p.window(0, 1).nodeCount, 1)
  assert.throws(() => p.window(NaN, 1), /NaN/)
  assert.throws(() => p.window(5, 1), /before its start/)
})

function workerProfile() {
  // A real second thread: a worker records its own profile and sends it home as JSON.
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads')
     const { recordProfile } = require(${JSON.stringify(path.join(__dirname, 'helpers.js'))})
     const { threadCpuTime } = require(${JSON.stringify(ROOT)})
     const t0 = threadCpuTime()
     recordProfile({ ms: 150 }).then((p) => parentPort.postMessage({ json: JSON.stringify(p), cpu: threadCpuTime() - t0 }))`,
    { eval: true },
  )
  return new Promise((resolve, reject) => {
    w.once('message', (m) => resolve({ ...m, threadId: w.threadId }))
    w.once('error', reject)
  })
}

test('merges threads into one labelled report', async () => {
  const main = CpuProfile.parse(JSON.stringify(raw))
  const wk = await workerProfile()
  const report = mergeProfiles(
    [
      {
        profile: CpuProfile.parse(wk.json),
        threadId: wk.threadId,
        name: 'worker',
        cpuTimeNs: wk.cpu,
      },
      { profile: main, threadId: 0, name: 'main', cpuTimeNs: threadCpuTime() },
    ],
    { profileId: 'req-42' },
  )
  assert.equal(report.profileId, 'req-42')
  assert.deepEqual(
    report.threads.map((t) => [t.threadId, t.name]),
    [
      [0, 'main'],
      [wk.threadId, 'worker'],
    ],
  )
  assert.equal(report.toCpuprofiles().length, 2)
  const collapsed = report.toCollapsed()
  const total = collapsed
    .trim()
    .split('\n')
    .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  assert.equal(total, main.sampleCount + report.thread(wk.threadId).sampleCount)
  assert.ok(
    stackNames(collapsed).some(
      (s) => s.startsWith(`worker (thread ${wk.threadId});`) && s.includes('fib ('),
    ),
  )
  assert.ok(stackNames(collapsed).some((s) => s.startsWith('main (thread 0);')))

  const pprof = PprofProfile.decode(gunzipSync(report.toPprof()))
  const str = (i) => pprof.stringTable.strings[Number(i)]
  assert.deepEqual(
    pprof.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    ['samples/count', 'wall/nanoseconds', 'cpu/nanoseconds'],
  )
  const sum = (k) => pprof.sample.reduce((s, x) => s + Number(x.value[k]), 0)
  assert.equal(sum(0), total)
  assert.equal(sum(2), Number(wk.cpu + report.threads[0].cpuTimeNs))
  for (const s of pprof.sample) {
    const labels = Object.fromEntries(
      s.label.map((l) => [str(l.key), l.str ? str(l.str) : Number(l.num)]),
    )
    assert.equal(labels.profile_id, 'req-42')
    assert.ok(
      (labels.thread_id === 0 && labels.thread_name === 'main') ||
        (labels.thread_id === wk.threadId && labels.thread_name === 'worker'),
      JSON.stringify(labels),
    )
  }
  const fib = pprof.function.find((f) => str(f.name) === 'fib')
  assert.ok(fib, 'fib is a function in the pprof')
  assert.ok(str(fib.filename).endsWith('helpers.js'))
  assert.ok(Number(fib.startLine) > 0)
})

test('merge rejects bad input with errors that name it', () => {
  const p = CpuProfile.parse(JSON.stringify(raw))
  assert.throws(() => mergeProfiles('x'), {
    name: 'TypeError',
    message: /threads must be an array/,
  })
  assert.throws(
    () => mergeProfiles([{ profile: {}, threadId: 1 }]),
    /threads\[0\]\.profile must be a CpuProfile/,
  )
  assert.throws(() => mergeProfiles([{ profile: p, threadId: -1 }]), /threads\[0\]\.threadId/)
  assert.throws(
    () => mergeProfiles([{ profile: p, threadId: 1, cpuTimeNs: 5 }]),
    /cpuTimeNs must be a bigint/,
  )
  assert.throws(() => mergeProfiles([], { profileID: 'x' }), /unknown option "profileID"/)
  assert.throws(
    () =>
      mergeProfiles([
        { profile: p, threadId: 3, name: 'a' },
        { profile: p, threadId: 3, name: 'b' },
      ]),
    /thread id 3 appears twice/,
  )
  const r = new Report('r')
  assert.throws(() => r.thread(9), /no thread with id 9/)
})

/** How long the last sample of a .cpuprofile lasts: until its endTime. */
function lastDuration(p) {
  return p.endTime - p.timeDeltas.reduce((t, d) => t + d, p.startTime)
}

test('pprof of one profile: counts and wall time add up', () => {
  const p = CpuProfile.parse(JSON.stringify(raw))
  const pprof = PprofProfile.decode(
    gunzipSync(p.toPprof({ timeNanos: 1_700_000_000_000_000_000n, periodNanos: 200_000 })),
  )
  const counts = pprof.sample.reduce((s, x) => s + Number(x.value[0]), 0)
  const wall = pprof.sample.reduce((s, x) => s + Number(x.value[1]), 0)
  assert.equal(counts, raw.samples.length)
  // Each sample lasts until the next, the last until endTime (as DevTools reads it).
  const ts = []
  raw.timeDeltas.reduce((t, d) => (ts.push(t + d), t + d), raw.startTime)
  const wallExpected =
    ts.reduce((s, t, k) => s + Math.max(0, (ts[k + 1] ?? raw.endTime) - t), 0) * 1000
  assert.equal(wall, wallExpected)
  assert.equal(String(pprof.timeNanos), '1700000000000000000')
  assert.equal(Number(pprof.period), 200_000)
  assert.throws(() => p.toPprof({ periodNanos: -1 }), /periodNanos/)
})

test('go tool pprof reads our pprof', (t) => {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' })
  if (go.error) {
    if (process.env.CI) assert.fail('go is required in CI (Debian package golang-go)')
    return t.skip('go not installed (apt-get install golang-go)')
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pw-')), 'profile.pb.gz')
  fs.writeFileSync(file, CpuProfile.parse(JSON.stringify(raw)).toPprof())
  const r = spawnSync('go', ['tool', 'pprof', '-top', '-sample_index=samples', file], {
    encoding: 'utf8',
    env: { ...process.env, HOME: os.tmpdir(), PPROF_TMPDIR: os.tmpdir() },
    timeout: 120_000,
  })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /Type: samples/)
  assert.match(r.stdout, /fib/)
  const total = r.stdout.match(/of (\d+) total/)
  assert.ok(total, r.stdout)
  assert.equal(Number(total[1]), raw.samples.length)
})

test('async variants produce the same output as the sync ones', async () => {
  const text = JSON.stringify(raw)
  const p = await CpuProfile.parseAsync(text)
  assert.ok(p instanceof CpuProfile)
  const q = CpuProfile.parse(text)
  assert.equal(await p.toCpuprofileAsync(), q.toCpuprofile())
  assert.equal(await p.toCollapsedAsync(), q.toCollapsed())
  assert.deepEqual(await p.toPprofAsync(), q.toPprof())
  const r = mergeProfiles([{ profile: p, threadId: 0 }])
  assert.deepEqual(await r.toPprofAsync(), r.toPprof())
  assert.equal(await r.toCollapsedAsync(), r.toCollapsed())
  await assert.rejects(CpuProfile.parseAsync('{"nodes":1}'), /invalid CPU profile at nodes/)
})

test('assembleAsync joins a thread’s chunks within a window: the samples of parse + window + concat, the time tiled', async () => {
  const a = JSON.stringify(raw)
  const b = JSON.stringify(await recordProfile({ ms: 60 }))
  const [pa, pb] = [CpuProfile.parse(a), CpuProfile.parse(b)]
  const t0 = (pa.startTime + pa.endTime) / 2
  const t1 = (pb.startTime + pb.endTime) / 2
  const expected = pa.window(t0, t1).concat(pb.window(t0, t1))
  const got = await CpuProfile.assembleAsync([a, b], t0, t1)
  // The same samples; the time between the two chunks, when no sampler ran, is a marker.
  const samplesOnly = (text) =>
    text
      .split('\n')
      .filter((l) => !l.startsWith('(profiled-worker) '))
      .join('\n')
  assert.equal(samplesOnly(got.toCollapsed()), expected.toCollapsed())
  assert.ok(expected.sampleCount > 0 && expected.sampleCount < pa.sampleCount + pb.sampleCount)
  const out = JSON.parse(got.toCpuprofile())
  assert.equal(
    out.timeDeltas.reduce((x, d) => x + d, 0),
    out.endTime - out.startTime - lastDuration(out),
  )
  assert.equal(out.startTime, Math.max(Math.floor(t0), pa.startTime))
  assert.equal(out.endTime, Math.min(Math.ceil(t1), pb.endTime))
  await assert.rejects(
    CpuProfile.assembleAsync([a, '{"nodes":[]}'], t0, t1),
    /chunk 1: invalid CPU profile/,
  )
  await assert.rejects(async () => CpuProfile.assembleAsync([], t0, t1), /at least one chunk/)

  // The same from chunks parsed beforehand; the inputs stay usable.
  const parsed = await CpuProfile.assembleParsedAsync([pa, pb], t0, t1)
  assert.equal(parsed.toCpuprofile(), got.toCpuprofile())
  assert.equal(CpuProfile.assembleParsed([pa, pb], t0, t1).toCpuprofile(), got.toCpuprofile())
  assert.equal(pa.sampleCount, CpuProfile.parse(a).sampleCount)
  await assert.rejects(
    async () => CpuProfile.assembleParsedAsync([], t0, t1),
    /assembleParsedAsync needs at least one chunk/,
  )
  await assert.rejects(async () => CpuProfile.assembleParsedAsync([pa, a], t0, t1), /CpuProfile/)
  await assert.rejects(async () => CpuProfile.assembleParsedAsync([pa], t1, t0), /before its start/)
})
