'use strict'
// Every error message the package throws, in one place.

function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'number') return `the number ${v}`
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`
  return `a ${typeof v}`
}

const withCode = (err, code) => Object.assign(err, { code })

module.exports = {
  describe,
  invalidArgType: (name, expected, got) =>
    withCode(
      new TypeError(`${name} must be ${expected}, got ${describe(got)}`),
      'ERR_INVALID_ARG_TYPE',
    ),
  outOfRange: (name, expected, got) =>
    withCode(
      new RangeError(`${name} must be ${expected}, got ${describe(got)}`),
      'ERR_OUT_OF_RANGE',
    ),
  unknownOption: (where, name, known) =>
    withCode(
      new TypeError(
        `${where}: unknown option ${JSON.stringify(name)} (known: ${known.join(', ')})`,
      ),
      'ERR_INVALID_ARG_VALUE',
    ),
  alreadyProfiling: (id) =>
    withCode(
      new Error(
        `a profile is already active for this async context (async id ${id}); ` +
          'stop it first, or use runProfile() to give the work its own context',
      ),
      'ERR_PROFILE_ACTIVE',
    ),
}
