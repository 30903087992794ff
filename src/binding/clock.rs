use napi::bindgen_prelude::BigInt;
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::core::cpu_clock::thread_cpu_time_ns;

/// CPU time of the calling thread (main thread or worker) in nanoseconds.
#[napi(catch_unwind)]
pub fn thread_cpu_time() -> Result<BigInt> {
  thread_cpu_time_ns()
    .map(BigInt::from)
    .map_err(|e| Error::new(Status::GenericFailure, e))
}
