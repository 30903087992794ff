'use strict'
// The JS way to get pprof out of a V8 profile, as @datadog/pprof does it
// (ts/src/profile-serializer.ts): walk the top-down tree keeping each node's stack,
// dedupe functions and locations through string-keyed Maps, emit one Sample per node that
// has hits, then Profile#encode() and gzip. The output carries what ours carries (same
// sample types, values, labels and dedup rules) so both sides do the same work.

const zlib = require('node:zlib')
const {
  Function,
  Label,
  Line,
  Location,
  Profile,
  Sample,
  StringTable,
  ValueType,
} = require('pprof-format')

/** V8's flat `nodes` list as the linked tree @datadog/pprof gets from its native side. */
function topDownTree(v8) {
  const byId = new Map()
  for (const n of v8.nodes) byId.set(n.id, { node: n, children: [], count: 0, wallUs: 0 })
  const isChild = new Set()
  for (const t of byId.values()) {
    for (const id of t.node.children || []) {
      t.children.push(byId.get(id))
      isChild.add(id)
    }
  }
  let root
  for (const [id, t] of byId) if (!isChild.has(id)) root = t
  // hitCount is only a cache; the wall value needs the per-sample gaps anyway.
  let prev = v8.startTime
  for (let i = 0; i < v8.samples.length; i++) {
    const t = prev + v8.timeDeltas[i]
    const hit = byId.get(v8.samples[i])
    hit.count++
    hit.wallUs += Math.max(0, t - prev)
    prev = Math.max(prev, t)
  }
  return root
}

/** V8 profile object → pprof-format Profile (not yet encoded). */
function toPprofFormatProfile(v8, { threadId = 0, threadName = '' } = {}) {
  const strings = new StringTable()
  const valueType = (type, unit) =>
    new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) })
  const sampleType = [valueType('samples', 'count'), valueType('wall', 'nanoseconds')]
  const periodType = valueType('wall', 'nanoseconds')
  const defaultSampleType = strings.dedup('wall')
  const labels = [
    new Label({ key: strings.dedup('thread_id'), num: threadId }),
    new Label({ key: strings.dedup('thread_name'), str: strings.dedup(threadName) }),
  ]

  const functions = []
  const functionIds = new Map()
  const locations = []
  const locationIds = new Map()
  const locationOf = (cf) => {
    const line = Math.max(0, cf.lineNumber + 1) // pprof lines are 1-based
    const name = cf.functionName || '(anonymous)'
    const fnKey = `${name}\0${cf.url}\0${line}`
    let functionId = functionIds.get(fnKey)
    if (functionId === undefined) {
      functionId = functions.length + 1
      functionIds.set(fnKey, functionId)
      const nameId = strings.dedup(name)
      functions.push(
        new Function({
          id: functionId,
          name: nameId,
          systemName: nameId,
          filename: strings.dedup(cf.url),
          startLine: line,
        }),
      )
    }
    const locKey = `${functionId}:${line}`
    let locationId = locationIds.get(locKey)
    if (locationId === undefined) {
      locationId = locations.length + 1
      locationIds.set(locKey, locationId)
      locations.push(new Location({ id: locationId, line: [new Line({ functionId, line })] }))
    }
    return locationId
  }

  const samples = []
  const root = topDownTree(v8)
  const entries = root.children.map((t) => ({ t, stack: [] }))
  while (entries.length > 0) {
    const { t, stack } = entries.pop()
    stack.unshift(locationOf(t.node.callFrame)) // leaf first
    if (t.count > 0) {
      samples.push(
        new Sample({ locationId: stack, value: [t.count, t.wallUs * 1000], label: labels }),
      )
    }
    for (const child of t.children) entries.push({ t: child, stack: stack.slice() })
  }

  const spanUs = v8.timeDeltas.reduce((a, d) => a + d, 0) - (v8.timeDeltas[0] ?? 0)
  return new Profile({
    sampleType,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: 0,
    durationNanos: (v8.endTime - v8.startTime) * 1000,
    periodType,
    period: v8.samples.length > 1 ? Math.floor((spanUs * 1000) / v8.samples.length) : 0,
    defaultSampleType,
  })
}

/** The full peer path: convert, encode, gzip (default level, as @datadog/pprof does). */
function pprofFormatGzip(v8, gzipOptions) {
  return zlib.gzipSync(toPprofFormatProfile(v8).encode(), gzipOptions)
}

module.exports = { toPprofFormatProfile, pprofFormatGzip }
