'use strict'
// The conventional environment variables of each backend, read once per exporter.

/** `k1=v1,k2=v2` (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS): percent-decoded pairs. */
function parsePairs(text) {
  const out = {}
  for (const item of (text ?? '').split(',')) {
    const eq = item.indexOf('=')
    if (eq <= 0) continue
    try {
      out[decodeURIComponent(item.slice(0, eq).trim())] = decodeURIComponent(
        item.slice(eq + 1).trim(),
      )
    } catch {
      // A malformed pair is left out, as the OpenTelemetry SDKs do.
    }
  }
  return out
}

const env = (name) => {
  const v = process.env[name]
  return v === undefined || v === '' ? undefined : v
}

module.exports = { parsePairs, env }
