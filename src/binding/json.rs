use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName, Uint32Array};
use napi::{check_status, sys, JsString, JsValue, Result, ValueType};
use napi_derive::napi;

use super::task::OffThread;
use crate::core::bigjson::{locate, unmark, Located, SyntaxError};

#[napi(object)]
pub struct JsonSyntaxError {
  pub message: String,
  pub position: u32,
  pub line: u32,
  pub column: u32,
}

/// A JS string's code units: Latin-1 for a one-byte string, else UTF-16. Both cross
/// N-API as plain copies, where UTF-8 would be transcoded both ways.
pub enum Text {
  Latin1(Vec<u8>),
  Utf16(Vec<u16>),
}

impl Text {
  fn read(text: &JsString, one_byte: bool) -> Result<Text> {
    let v = text.value();
    let mut len = 0usize;
    // SAFETY: `v` is a live string of this call; each buffer gets the length N-API
    // reported plus the terminator it writes, and only what it wrote is kept.
    unsafe {
      if one_byte {
        check_status!(sys::napi_get_value_string_latin1(
          v.env,
          v.value,
          std::ptr::null_mut(),
          0,
          &mut len
        ))?;
        let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
        check_status!(sys::napi_get_value_string_latin1(
          v.env,
          v.value,
          buf.as_mut_ptr().cast(),
          len + 1,
          &mut len
        ))?;
        buf.set_len(len);
        Ok(Text::Latin1(buf))
      } else {
        check_status!(sys::napi_get_value_string_utf16(
          v.env,
          v.value,
          std::ptr::null_mut(),
          0,
          &mut len
        ))?;
        let mut buf: Vec<u16> = Vec::with_capacity(len + 1);
        check_status!(sys::napi_get_value_string_utf16(
          v.env,
          v.value,
          buf.as_mut_ptr(),
          len + 1,
          &mut len
        ))?;
        buf.set_len(len);
        Ok(Text::Utf16(buf))
      }
    }
  }
}

impl TypeName for Text {
  fn type_name() -> &'static str {
    "string"
  }
  fn value_type() -> ValueType {
    ValueType::String
  }
}

impl ToNapiValue for Text {
  unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
    let mut out = std::ptr::null_mut();
    match &val {
      Text::Latin1(b) => check_status!(sys::napi_create_string_latin1(
        env,
        b.as_ptr().cast(),
        b.len() as isize,
        &mut out
      ))?,
      Text::Utf16(u) => check_status!(sys::napi_create_string_utf16(
        env,
        u.as_ptr(),
        u.len() as isize,
        &mut out
      ))?,
    }
    Ok(out)
  }
}

/// Result of scanning bigint-JSON; expected failures (bad syntax) are data, not throws.
#[napi(object, object_from_js = false)]
pub struct JsScan {
  pub error: Option<JsonSyntaxError>,
  /// Number of BigInt literals whose value survives.
  pub count: u32,
  /// The text with each BigInt literal's `n` blanked; absent if there were none.
  #[napi(ts_type = "string | undefined")]
  pub json: Option<Text>,
  /// Where the BigInts go: see src/core/bigjson.rs.
  pub ops: Uint32Array,
  /// JSON array of the key literals `ops` refers to.
  #[napi(ts_type = "string")]
  pub keys: Text,
}

fn syntax_error(e: SyntaxError) -> JsScan {
  JsScan {
    error: Some(JsonSyntaxError {
      message: e.message,
      position: e.position as u32,
      line: e.line as u32,
      column: e.column as u32,
    }),
    count: 0,
    json: None,
    ops: Uint32Array::new(Vec::new()),
    keys: Text::Latin1(Vec::new()),
  }
}

fn located<T>(l: Located<T>, text: Vec<T>, wrap: fn(Vec<T>) -> Text) -> JsScan {
  JsScan {
    error: None,
    count: l.count as u32,
    json: (l.blanked > 0).then(|| wrap(text)),
    ops: Uint32Array::new(l.ops),
    keys: wrap(l.keys),
  }
}

/// Validate bigint-JSON text and locate its BigInt literals. `oneByte`: every character
/// of `text` is below U+0100 (the caller knows; Latin-1 would be lossy otherwise).
#[napi(catch_unwind)]
pub fn scan_bigint_json(text: JsString, one_byte: bool) -> Result<JsScan> {
  Ok(match Text::read(&text, one_byte)? {
    Text::Latin1(mut t) => match locate(&mut t) {
      Ok(l) => located(l, t, Text::Latin1),
      Err(e) => syntax_error(e),
    },
    Text::Utf16(mut t) => match locate(&mut t) {
      Ok(l) => located(l, t, Text::Utf16),
      Err(e) => syntax_error(e),
    },
  })
}

/// The write side's last pass: `"<open><digits>"` marker strings become `<digits>n`.
/// Returns null unless exactly `expected` markers were replaced (see lib/util/json.js).
#[napi(catch_unwind, ts_return_type = "string | null")]
pub fn unmark_bigint_json(
  text: JsString,
  one_byte: bool,
  open: String,
  expected: u32,
) -> Result<Option<Text>> {
  let open16: Vec<u16> = open.encode_utf16().collect();
  Ok(match Text::read(&text, one_byte)? {
    Text::Latin1(t) => {
      let open: Vec<u8> = open16.iter().map(|&u| u as u8).collect();
      let (out, n) = unmark(&t, &open);
      (n == expected as usize).then_some(Text::Latin1(out))
    }
    Text::Utf16(t) => {
      let (out, n) = unmark(&t, &open16);
      (n == expected as usize).then_some(Text::Utf16(out))
    }
  })
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
