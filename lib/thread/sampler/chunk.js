'use strict'
// A stretch of samples as it leaves V8, made into the chunk every profile windows by time:
// timestamps on the process.hrtime clock (µs), and no sample that an earlier chunk of the
// thread already holds.
//
// Consecutive stretches overlap for the moment of a cut (the next one starts before the
// previous one ends, so V8's profiler never goes idle), and V8 adds each tick to every
// profile running when it processes the tick, so the first samples of a stretch can be
// the last ones of the one before. Dropping every sample not later than the last one
// delivered makes the chunks tile time.

/**
 * A profile object (the inspector's) → { json, lastUs, samples }, its samples after
 * `afterUs`.
 */
function fromObject(profile, afterUs) {
  const lastUs = keepAfter(profile, afterUs)
  return { json: JSON.stringify(profile), lastUs, samples: profile.samples.length }
}

/**
 * Profile JSON from v8.startCpuProfile() → { json, lastUs, samples }: timestamps shifted by
 * `offsetUs` onto the hrtime clock, samples after `afterUs` kept.
 *
 * Node writes the nodes first and then startTime, endTime, samples and timeDeltas, which
 * hold only numbers; so just that tail is parsed and rewritten, and the node table (most
 * of the text) is copied as it is. Any other layout is parsed whole.
 */
function fromJson(json, offsetUs, afterUs) {
  const at = json.lastIndexOf(',"startTime":')
  if (at > 0 && json.startsWith('{"nodes":[') && json[at - 1] === ']') {
    let tail
    try {
      tail = JSON.parse(`{${json.slice(at + 1)}`)
    } catch {
      tail = null
    }
    const keys = tail && Object.keys(tail).join()
    if (keys === 'startTime,endTime,samples,timeDeltas') {
      shift(tail, offsetUs)
      const lastUs = keepAfter(tail, afterUs)
      return {
        json: `${json.slice(0, at)},${JSON.stringify(tail).slice(1)}`,
        lastUs,
        samples: tail.samples.length,
      }
    }
  }
  const profile = JSON.parse(json)
  shift(profile, offsetUs)
  return fromObject(profile, afterUs)
}

function shift(p, offsetUs) {
  // startTime and endTime are each cut to 32 bits by the writer (see v8-handles.js), so
  // endTime is rebuilt from its distance to startTime, which is small.
  const span = mod32(p.endTime - p.startTime)
  p.startTime += offsetUs
  p.endTime = p.startTime + span
}

const TWO_32 = 2 ** 32
const mod32 = (x) => ((x % TWO_32) + TWO_32) % TWO_32

/** Drops samples at or before `afterUs`; returns the last timestamp (µs) kept, or afterUs. */
function keepAfter(p, afterUs) {
  const { samples, timeDeltas } = p
  let t = p.startTime
  let last = afterUs
  let dropped = 0
  for (let k = 0; k < samples.length; k++) {
    t += timeDeltas[k]
    if (t <= afterUs) {
      dropped++
      continue
    }
    if (t > last) last = t
  }
  if (dropped === 0) return last
  const keptSamples = []
  const keptDeltas = []
  let prev = p.startTime
  t = p.startTime
  for (let k = 0; k < samples.length; k++) {
    t += timeDeltas[k]
    if (t <= afterUs) continue
    keptSamples.push(samples[k])
    keptDeltas.push(t - prev)
    prev = t
  }
  p.samples = keptSamples
  p.timeDeltas = keptDeltas
  return last
}

module.exports = { fromObject, fromJson, keepAfter, TWO_32 }
