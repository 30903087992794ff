'use strict'
// OTLP profiles over HTTP: POST {endpoint}/v1development/profiles, an
// ExportProfilesServiceRequest of opentelemetry-proto v1.11.0 (src/core/encode/otlp.rs)
// as application/x-protobuf. Endpoint, headers and resource as the OpenTelemetry SDKs
// read them: options, else OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT (used as is) or
// OTEL_EXPORTER_OTLP_ENDPOINT (plus the path), OTEL_EXPORTER_OTLP_[PROFILES_]HEADERS,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.

const crypto = require('node:crypto')
const { Sender } = require('./sender')
const { env, parsePairs } = require('./env')
const errors = require('../util/errors')

const PATH = '/v1development/profiles'

function endpoint(url) {
  if (url !== undefined) {
    const base = url.replace(/\/+$/, '')
    return base.endsWith(PATH) ? base : base + PATH
  }
  const signal = env('OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT')
  if (signal !== undefined) return signal
  const base = env('OTEL_EXPORTER_OTLP_ENDPOINT')
  return base === undefined ? undefined : base.replace(/\/+$/, '') + PATH
}

function otlpExporter(userOptions, defaults) {
  const url = endpoint(userOptions.url)
  if (typeof url !== 'string' || !/^https?:\/\//.test(url))
    throw errors.notHttpUrl('startContinuous(): otlp.url', url)
  const headers = {
    ...parsePairs(env('OTEL_EXPORTER_OTLP_HEADERS')),
    ...parsePairs(env('OTEL_EXPORTER_OTLP_PROFILES_HEADERS')),
    ...(userOptions.headers ?? {}),
    'Content-Type': 'application/x-protobuf',
  }
  const attributes = {
    'service.name': defaults.serviceName,
    'process.pid': String(process.pid),
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'telemetry.sdk.name': 'profiled-worker',
    'telemetry.sdk.language': 'nodejs',
    ...parsePairs(env('OTEL_RESOURCE_ATTRIBUTES')),
    ...(env('OTEL_SERVICE_NAME') ? { 'service.name': env('OTEL_SERVICE_NAME') } : {}),
    ...(userOptions.resource ?? {}),
  }
  const resource = Object.entries(attributes).map(([key, value]) => ({
    key,
    value: String(value),
  }))
  const sender = new Sender({ name: 'otlp', ...defaults.sender, ...userOptions })
  return {
    name: 'otlp',
    sender,
    push(p) {
      const request = p.period
        .toOtlpAsync({
          resource,
          scopeName: 'profiled-worker',
          scopeVersion: defaults.version,
          timeUnixNano: p.timeNanos,
          durationNano: Math.max(0, (p.endMs - p.startMs) * 1e6),
          periodNanos: p.intervalUs * 1000,
          profileId: crypto.randomBytes(16),
        })
        .then((body) => ({ url, headers, body }))
      sender.push(request)
    },
  }
}

module.exports = { otlpExporter, endpoint }
