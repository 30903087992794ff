use napi::bindgen_prelude::AsyncTask;
use napi::Result;
use napi_derive::napi;
use serde_json::Value;

use super::task::OffThread;
use crate::core::bigjson::{scan, PathSeg};

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
  /// Number of BigInt literals found.
  pub count: u32,
  /// The text with BigInt literals replaced by `"<placeholder>"` (empty if count is 0).
  pub json: String,
  pub placeholder: String,
  /// JSON array of `[path, digits]`, path an array of keys and indices.
  pub bigints: String,
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
      placeholder: String::new(),
      bigints: String::new(),
    },
    Ok(s) => {
      let list: Vec<Value> = s
        .bigints
        .into_iter()
        .map(|b| {
          let path = b
            .path
            .into_iter()
            .map(|seg| match seg {
              PathSeg::Key(k) => Value::String(k),
              PathSeg::Index(i) => Value::from(i),
            })
            .collect();
          Value::Array(vec![Value::Array(path), Value::String(b.digits)])
        })
        .collect();
      JsonScan {
        error: None,
        count: list.len() as u32,
        json: s.json,
        placeholder: s.placeholder,
        bigints: Value::Array(list).to_string(),
      }
    }
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
