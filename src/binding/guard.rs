//! A panic must never cross into Node (across `extern "C"` it aborts the process).
//! Synchronous entry points use `#[napi(catch_unwind)]`; work on the libuv pool goes
//! through `guard`, because napi-rs does not catch panics there.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::{Error, Result, Status};

pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
  // The closures run pure core code on owned or shared-immutable data, so a panic cannot
  // leave anything observable half-updated.
  catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
    let msg = payload
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| payload.downcast_ref::<String>().cloned())
      .unwrap_or_else(|| "unknown panic".into());
    Err(Error::new(
      Status::GenericFailure,
      format!("profiled-worker internal error (panic): {msg}"),
    ))
  })
}

pub fn invalid_arg(msg: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, msg.into())
}
