'use strict'
// Deterministic synthetic inputs for the benchmarks: a V8-shaped CPU profile and a
// "profile-with-effects" report around it. Seeded, so every run and every arm sees the
// same bytes and the figures are comparable across runs.

// mulberry32: tiny, fast, good enough to shape test data.
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const int = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
const pick = (rand, arr) => arr[Math.floor(rand() * arr.length)]

const VERBS = ['get', 'set', 'load', 'parse', 'render', 'handle', 'resolve', 'emit', 'read', 'walk']
const NOUNS = ['User', 'Request', 'Row', 'Token', 'Buffer', 'Node', 'Chunk', 'Route', 'Span', 'Key']
const DIRS = ['lib', 'src', 'node_modules/express/lib', 'node_modules/pg/lib', 'dist', 'app']

/** Code locations: `functions` distinct functions spread over `urls` scripts. */
function makeCode(rand, functions, urls) {
  const scripts = []
  for (let i = 0; i < urls; i++) {
    scripts.push({
      scriptId: String(40 + i),
      url: `file:///srv/app/${pick(rand, DIRS)}/${pick(rand, NOUNS).toLowerCase()}-${i}.js`,
    })
  }
  const fns = []
  for (let i = 0; i < functions; i++) {
    const s = scripts[i % urls]
    fns.push({
      // A few percent anonymous, as in real Node code.
      functionName: rand() < 0.04 ? '' : `${pick(rand, VERBS)}${pick(rand, NOUNS)}${i}`,
      scriptId: s.scriptId,
      url: s.url,
      lineNumber: int(rand, 0, 2000),
      columnNumber: int(rand, 0, 80),
    })
  }
  return fns
}

const nativeFrame = (functionName) => ({
  functionName,
  scriptId: '0',
  url: '',
  lineNumber: -1,
  columnNumber: -1,
})

/**
 * A V8 `Profiler.stop` profile: `nodes` tree nodes (depth up to `maxDepth`) over
 * `functions` functions in `urls` scripts, `samples` samples skewed (Zipf-like) towards a
 * few hot leaves, with runs of repeated stacks, and timeDeltas of ~1000 µs with jitter.
 */
function makeCpuProfile({
  nodes = 5000,
  samples = 100_000,
  functions = 300,
  urls = 50,
  maxDepth = 30,
  seed = 1,
} = {}) {
  const rand = rng(seed)
  const code = makeCode(rand, functions, urls)
  const out = []
  const depth = []
  const parent = []
  const add = (callFrame, p) => {
    const id = out.length + 1
    out.push({ id, callFrame, hitCount: 0, children: [] })
    depth.push(p < 0 ? 0 : depth[p] + 1)
    parent.push(p)
    if (p >= 0) out[p].children.push(id)
    return out.length - 1
  }
  const root = add(nativeFrame('(root)'), -1)
  const special = ['(program)', '(idle)', '(garbage collector)'].map((n) =>
    add(nativeFrame(n), root),
  )
  // A random walk that mostly descends and sometimes climbs back a few frames: long call
  // chains with bushy branching under a handful of entry points, like a real server's tree.
  const entry = add(pick(rand, code), root)
  let cur = entry
  while (out.length < nodes) {
    const child = add(pick(rand, code), cur)
    if (depth[child] < maxDepth && rand() < 0.68) cur = child
    else {
      let up = 1
      while (rand() < 0.6) up++
      while (up-- > 0 && depth[cur] > 1) cur = parent[cur]
      if (rand() < 0.002) cur = root // a rare new entry point (timer, socket callback)
    }
  }

  // Self-time weights: leaves get a Zipf weight by a random permutation of ranks (a few
  // hot leaves, a long tail); inner nodes get a little self time.
  const leaves = []
  out.forEach((n, i) => n.children.length === 0 && i > special[2] && leaves.push(i))
  const ranks = leaves.map((_, k) => k + 1)
  for (let k = ranks.length - 1; k > 0; k--) {
    const j = Math.floor(rand() * (k + 1))
    ;[ranks[k], ranks[j]] = [ranks[j], ranks[k]]
  }
  const weights = new Array(out.length).fill(0)
  out.forEach((n, i) => {
    if (i !== root && n.children.length > 0) weights[i] = 2e-4 * rand()
  })
  leaves.forEach((i, k) => (weights[i] = 1 / Math.pow(ranks[k], 1.05)))
  weights[special[0]] = 0.2
  weights[special[1]] = 0.5
  weights[special[2]] = 0.1
  const cumulative = new Float64Array(weights.length)
  let total = 0
  weights.forEach((w, i) => (cumulative[i] = total += w))
  const draw = () => {
    const x = rand() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  const sampleIds = new Array(samples)
  const timeDeltas = new Array(samples)
  let last = draw()
  let elapsed = 0
  for (let i = 0; i < samples; i++) {
    if (rand() >= 0.6) last = draw()
    sampleIds[i] = out[last].id
    out[last].hitCount++
    // ~1 ms interval with jitter, and an occasional long gap (GC pause, busy thread).
    const d = rand() < 0.01 ? int(rand, 2000, 8000) : int(rand, 850, 1250)
    timeDeltas[i] = d
    elapsed += d
  }
  const startTime = 354_021_234_567 // µs on the monotonic clock, ~4 days of uptime
  for (const n of out) if (n.children.length === 0) delete n.children
  return {
    nodes: out,
    startTime,
    endTime: startTime + elapsed + 120,
    samples: sampleIds,
    timeDeltas,
  }
}

const KINDS = ['http.request', 'db.query', 'fs.read', 'cache.get', 'dns.lookup', 'crypto.hash']

/** One effect record; `depth` > 0 nests children with their own bigint timestamps. */
function makeEffect(rand, t0, depth) {
  const startNs = t0 + BigInt(int(rand, 0, 5_000_000))
  const endNs = startNs + BigInt(int(rand, 10_000, 40_000_000))
  const effect = {
    kind: pick(rand, KINDS),
    // 128-bit ids (trace ids) do not fit in 64 bits, let alone in a double.
    id: (BigInt(int(rand, 1, 2 ** 31)) << 96n) | BigInt(int(rand, 0, 2 ** 31)),
    startNs,
    endNs,
    cpuTimeNs: BigInt(int(rand, 1_000, 9_000_000)),
    threadId: int(rand, 0, 8),
    ok: rand() > 0.05,
    attrs: {
      target: `${pick(rand, NOUNS).toLowerCase()}/${int(rand, 1, 99999)}`,
      bytes: int(rand, 0, 1 << 20),
      retries: int(rand, 0, 3),
    },
    events: [],
    children: [],
  }
  const events = int(rand, 0, 3)
  for (let i = 0; i < events; i++) {
    effect.events.push({ name: pick(rand, VERBS), atNs: startNs + BigInt(int(rand, 0, 9_999)) })
  }
  if (depth > 0) {
    const n = int(rand, 0, 3)
    for (let i = 0; i < n; i++) effect.children.push(makeEffect(rand, startNs, depth - 1))
  }
  return effect
}

/**
 * The "profile-with-effects" document an app would store or ship: a V8 profile plus the
 * report of what the request caused, with BigInt nanosecond clocks and 128-bit ids.
 */
function makeProfileWithEffects({ nodes, samples, effects, seed = 7 }) {
  const rand = rng(seed)
  const profile = makeCpuProfile({
    nodes,
    samples,
    functions: Math.min(300, Math.max(8, nodes >> 1)),
    urls: Math.min(50, Math.max(3, nodes >> 3)),
    seed,
  })
  // process.hrtime.bigint() after ~27 days of uptime: 16 digits, above 10^15.
  const startNs = 2_345_678_901_234_567n
  const endNs = startNs + BigInt(profile.endTime - profile.startTime) * 1000n
  const list = []
  for (let i = 0; i < effects; i++) {
    const t = startNs + (BigInt(i) * (endNs - startNs)) / BigInt(Math.max(1, effects))
    list.push(makeEffect(rand, t, 2))
  }
  return {
    version: 2,
    profileId: `req-${Math.floor(rand() * 1e9).toString(36)}`,
    report: {
      startNs,
      endNs,
      cpuTimeNs: BigInt(int(rand, 1e6, 9e8)) * 10n,
      traceId: 0x4bf92f3577b34da6a3ce929d0e0e4736n,
      spanId: 0xf067aa0ba902b7c5n, // above 2^63: not even an int64
      threads: [
        { threadId: 0, name: 'main', cpuTimeNs: 812_345_678n, sampleCount: samples },
        { threadId: 3, name: 'worker-1', cpuTimeNs: 91_234_567n, sampleCount: 0 },
      ],
      effects: list,
    },
    profile,
  }
}

/** The same document with every BigInt turned into a Number: what plain JSON can carry. */
function withoutBigInts(value) {
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(withoutBigInts)
  if (value !== null && typeof value === 'object') {
    const out = {}
    for (const k of Object.keys(value)) out[k] = withoutBigInts(value[k])
    return out
  }
  return value
}

function countBigInts(value) {
  if (typeof value === 'bigint') return 1
  if (value === null || typeof value !== 'object') return 0
  let n = 0
  for (const k of Object.keys(value)) n += countBigInts(value[k])
  return n
}

module.exports = { rng, makeCpuProfile, makeProfileWithEffects, withoutBigInts, countBigInts }
