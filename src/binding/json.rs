use napi::bindgen_prelude::AsyncTask;
use napi::Result;
use napi_derive::napi;

use super::task::OffThread;
use crate::core::bigjson::scan;

#[napi(object)]
pub struct JsonSyntaxError {
  pub message: String,
  pub position: u32,
  pub line: u32,
  pub column: u32,
}

/// Result of scanning bigint-JSON; expected failures (bad syntax) are data, not throws.
#[napi(object)]
pub struct JsonScan {
  pub error: Option<JsonSyntaxError>,
  /// Number of BigInt literals whose value survives.
  pub count: u32,
  /// The text with each BigInt literal's `n` blanked (empty if there were none).
  pub json: String,
  /// Where the BigInts go: see src/core/bigjson.rs.
  pub ops: String,
}

fn scan_text(text: &str) -> JsonScan {
  match scan(text) {
    Err(e) => JsonScan {
      error: Some(JsonSyntaxError {
        message: e.message,
        position: e.position as u32,
        line: e.line as u32,
        column: e.column as u32,
      }),
      count: 0,
      json: String::new(),
      ops: String::new(),
    },
    Ok(s) => JsonScan {
      error: None,
      count: s.count as u32,
      json: s.json,
      ops: s.ops,
    },
  }
}

/// Validate bigint-JSON text and locate its BigInt literals.
#[napi(catch_unwind)]
pub fn scan_bigint_json(text: String) -> Result<JsonScan> {
  Ok(scan_text(&text))
}

/// Panics on purpose, so tests can prove that a panic becomes a JS exception.
#[napi(js_name = "__panicForTesting", catch_unwind)]
pub fn panic_for_testing(message: String) -> Result<()> {
  panic!("{message}");
}

#[napi(
  js_name = "__panicOffThreadForTesting",
  ts_return_type = "Promise<string>"
)]
pub fn panic_off_thread_for_testing(message: String) -> AsyncTask<OffThread<String, String>> {
  AsyncTask::new(OffThread::new(move || panic!("{message}")))
}
