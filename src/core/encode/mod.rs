//! Encoders from the profile model to the formats tools read.

pub mod collapsed;
pub mod cpuprofile;
pub mod flamegraph;
pub mod otlp;
pub mod pprof;

use super::profile::CallFrame;

/// V8 leaves anonymous functions nameless; every tool shows them better named.
pub fn function_name(cf: &CallFrame) -> &str {
  if cf.function_name.is_empty() {
    "(anonymous)"
  } else {
    &cf.function_name
  }
}
