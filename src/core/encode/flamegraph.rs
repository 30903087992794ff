//! Flame graph SVG of a report, drawn by inferno: one SVG for all threads, one tower per
//! thread, each tower's bottom frame naming the thread (as in the collapsed encoding).

use inferno::flamegraph::color::{Color, PaletteMap};
use inferno::flamegraph::{self, Options, TextTruncateDirection};

use super::collapsed::report_stacks_by_thread;
use crate::core::report::Report;

#[derive(Debug, Clone, PartialEq)]
pub struct FlamegraphOptions {
  pub title: String,
  /// Frames narrower than this percentage of the whole graph are left out (inferno's
  /// `min_width`), which keeps huge profiles small and readable.
  pub min_width_pct: f64,
  /// Draw V8's `(idle)` samples. Without them, towers are as wide as the time each
  /// thread ran code, which is what a long, mostly idle profile needs to be readable.
  pub idle: bool,
}

impl Default for FlamegraphOptions {
  fn default() -> Self {
    FlamegraphOptions {
      title: flamegraph::defaults::TITLE.into(),
      min_width_pct: flamegraph::defaults::MIN_WIDTH,
      idle: true,
    }
  }
}

/// What `min_width_pct` must be, in the words of the error that refuses it.
pub const MIN_WIDTH_EXPECTED: &str = "a percentage from 0 to 100";

impl FlamegraphOptions {
  /// `None` for a `min_width_pct` the graph takes, else what it must be. The one rule:
  /// the JS shell asks here too, so that its own error cannot drift from this one.
  pub fn min_width_problem(pct: f64) -> Option<&'static str> {
    if (0.0..=100.0).contains(&pct) {
      None
    } else {
      Some(MIN_WIDTH_EXPECTED)
    }
  }
}

/// Why a flame graph could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlamegraphError(pub String);

impl std::fmt::Display for FlamegraphError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl std::error::Error for FlamegraphError {}

/// Same name, same colour, in every graph: a hash picks the shade within the hue.
fn shade(text: &str) -> f32 {
  let mut h: u64 = 0xcbf2_9ce4_8422_2325;
  for b in text.bytes() {
    h ^= b as u64;
    h = h.wrapping_mul(0x0100_0000_01b3);
  }
  (h >> 40) as f32 / (1u64 << 24) as f32
}

fn mix(base: (u8, u8, u8), spread: (u8, u8, u8), v: f32) -> Color {
  let c = |b: u8, s: u8| b.saturating_add((s as f32 * v) as u8);
  Color {
    r: c(base.0, spread.0),
    g: c(base.1, spread.1),
    b: c(base.2, spread.2),
  }
}

/// Colours by kind, so the eye finds the app's own code: warm for the app, blue for
/// Node's internals, purple for dependencies, grey for V8's pseudo-frames, slate for the
/// thread frames.
fn frame_color(text: &str, depth: usize) -> Color {
  let v = shade(text);
  if depth <= 1 {
    return mix((150, 170, 200), (20, 20, 20), v);
  }
  match text {
    "(idle)" => return mix((215, 215, 215), (10, 10, 10), v),
    "(program)" | "(root)" => return mix((185, 185, 185), (10, 10, 10), v),
    "(garbage collector)" => return mix((215, 165, 120), (20, 20, 20), v),
    _ => {}
  }
  let url = text
    .rfind(" (")
    .filter(|_| text.ends_with(')'))
    .map(|k| &text[k + 2..text.len() - 1])
    .unwrap_or("");
  if url.starts_with("node:") || url.starts_with("internal/") {
    mix((80, 150, 190), (50, 55, 50), v)
  } else if url.contains("node_modules/") {
    mix((170, 110, 200), (55, 60, 40), v)
  } else if url.is_empty() {
    // Native and builtin code: V8 gives it no script.
    mix((190, 190, 80), (45, 45, 20), v)
  } else {
    // The classic flame graph "hot" palette.
    mix((205, 60, 0), (50, 170, 55), v)
  }
}

/// The report as a flame graph SVG. Widths are sample counts; a tooltip gives each
/// frame's `function (file:line)`, its samples and share; the embedded search (Ctrl+F)
/// matches frame names.
pub fn report_to_flamegraph(r: &Report, o: &FlamegraphOptions) -> Result<String, FlamegraphError> {
  let mut threads = report_stacks_by_thread(r);
  if !o.idle {
    for stacks in &mut threads {
      stacks.retain(|stack, _| !stack.ends_with(";(idle)"));
    }
  }
  let samples: u64 = threads.iter().flat_map(|t| t.values()).sum();
  if samples == 0 {
    let what = if o.idle {
      "samples"
    } else {
      "non-idle samples"
    };
    return Ok(empty_svg(&o.title, what));
  }

  let mut palette = PaletteMap::default();
  palette.insert("", mix((200, 200, 200), (0, 0, 0), 0.0));
  let mut lines = Vec::new();
  for stacks in &threads {
    for (stack, count) in stacks {
      for (depth, frame) in stack.split(';').enumerate() {
        if palette.get(frame).is_none() {
          palette.insert(frame, frame_color(frame, depth + 1));
        }
      }
      lines.push(format!("{stack} {count}"));
    }
  }

  let mut opt = Options::default();
  opt.title = o.title.clone();
  opt.subtitle = Some(format!(
    "{} thread{}, {} {}samples; one tower per thread, its bottom frame names the thread",
    r.threads.len(),
    if r.threads.len() == 1 { "" } else { "s" },
    samples,
    if o.idle { "" } else { "non-idle " },
  ));
  // Frames start with the function's name, the part worth keeping when a frame is narrow.
  opt.text_truncate_direction = TextTruncateDirection::Right;
  // Siblings, and so the towers, are in alphabetical order, as in every flame graph;
  // inferno checks that its input is sorted, so thread-id order is not an option.
  opt.min_width = o.min_width_pct;
  opt.palette_map = Some(&mut palette);

  let mut svg = Vec::new();
  flamegraph::from_lines(&mut opt, lines.iter().map(String::as_str), &mut svg)
    .map_err(|e| FlamegraphError(format!("could not draw the flame graph: {e}")))?;
  String::from_utf8(svg)
    .map_err(|e| FlamegraphError(format!("the flame graph SVG is not UTF-8: {e}")))
}

fn xml_escape(s: &str) -> String {
  s.replace('&', "&amp;")
    .replace('<', "&lt;")
    .replace('>', "&gt;")
    .replace('"', "&quot;")
}

/// inferno refuses an empty input; a short profile can have no samples and still deserves
/// a file that opens and says so.
fn empty_svg(title: &str, what: &str) -> String {
  format!(
    concat!(
      r#"<?xml version="1.0" standalone="no"?>"#,
      "\n",
      r#"<svg version="1.1" width="1200" height="80" xmlns="http://www.w3.org/2000/svg">"#,
      r##"<rect x="0" y="0" width="100%" height="100%" fill="#f8f8f8"/>"##,
      r#"<text x="50%" y="30" text-anchor="middle" font-family="monospace" font-size="17">{}</text>"#,
      r#"<text x="50%" y="58" text-anchor="middle" font-family="monospace" font-size="12">no {} in this profile</text>"#,
      "</svg>\n"
    ),
    xml_escape(title),
    what
  )
}

#[cfg(test)]
mod tests {
  use std::sync::Arc;

  use super::*;
  use crate::core::profile::Profile;
  use crate::core::report::ThreadProfile;

  /// main: a→b ×6, a ×2; worker: c ×4. Total 12 samples.
  fn report() -> Report {
    let main = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"children":[2]},
      {"id":2,"callFrame":{"functionName":"a","scriptId":"1","url":"/app/x.js","lineNumber":0,"columnNumber":0},"children":[3]},
      {"id":3,"callFrame":{"functionName":"b","scriptId":"1","url":"/app/x.js","lineNumber":9,"columnNumber":0}}
    ],"startTime":0,"endTime":800,"samples":[3,3,3,2,3,3,3,2],"timeDeltas":[100,100,100,100,100,100,100,100]}"#;
    let worker = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"children":[2]},
      {"id":2,"callFrame":{"functionName":"c<&>","scriptId":"1","url":"/app/w.js","lineNumber":2,"columnNumber":0}}
    ],"startTime":0,"endTime":400,"samples":[2,2,2,2],"timeDeltas":[100,100,100,100]}"#;
    let t = |id, name: &str, json: &str| ThreadProfile {
      thread_id: id,
      name: name.into(),
      profile: Arc::new(Profile::from_json(json.as_bytes()).unwrap()),
      cpu_time_ns: None,
    };
    Report::merge("p", vec![t(1, "worker", worker), t(0, "main", main)]).unwrap()
  }

  /// (title text, rect width %) of every frame.
  fn frames(svg: &str) -> Vec<(String, f64)> {
    svg
      .split("<g>")
      .skip(1)
      .filter_map(|g| {
        let title = g.split("<title>").nth(1)?.split("</title>").next()?;
        let width = g.split("width=\"").nth(1)?.split('%').next()?;
        Some((title.to_string(), width.parse().ok()?))
      })
      .collect()
  }

  fn width_of(frames: &[(String, f64)], prefix: &str) -> f64 {
    let hits: Vec<_> = frames.iter().filter(|f| f.0.starts_with(prefix)).collect();
    assert_eq!(hits.len(), 1, "one frame {prefix:?} in {frames:?}");
    hits[0].1
  }

  #[test]
  fn frames_are_named_and_as_wide_as_their_samples() {
    let svg = report_to_flamegraph(
      &report(),
      &FlamegraphOptions {
        title: "req <1>".into(),
        ..Default::default()
      },
    )
    .unwrap();
    assert!(svg.contains("req &lt;1&gt;"), "title, escaped");
    let f = frames(&svg);
    let all = width_of(&f, "all (12 samples");
    assert!((all - 100.0).abs() < 0.01, "{all}");
    for (prefix, n) in [
      ("main (thread 0) (8 samples", 8.0),
      ("worker (thread 1) (4 samples", 4.0),
      ("a (/app/x.js:1) (8 samples", 8.0),
      ("b (/app/x.js:10) (6 samples", 6.0),
      ("c&lt;&amp;&gt; (/app/w.js:3) (4 samples", 4.0),
    ] {
      let w = width_of(&f, prefix);
      assert!((w - 100.0 * n / 12.0).abs() < 0.01, "{prefix}: {w}");
    }
  }

  #[test]
  fn towers_are_in_thread_id_order() {
    let svg = report_to_flamegraph(&report(), &FlamegraphOptions::default()).unwrap();
    let x = |label: &str| {
      let g = svg.split("<g>").find(|g| g.contains(label)).unwrap();
      let x: f64 = g
        .split("x=\"")
        .nth(1)
        .unwrap()
        .split('%')
        .next()
        .unwrap()
        .parse()
        .unwrap();
      x
    };
    assert!(x("<title>main (thread 0)") < x("<title>worker (thread 1)"));
  }

  #[test]
  fn output_is_deterministic_and_has_search() {
    let a = report_to_flamegraph(&report(), &FlamegraphOptions::default()).unwrap();
    let b = report_to_flamegraph(&report(), &FlamegraphOptions::default()).unwrap();
    assert_eq!(a, b);
    assert!(
      a.contains("function search("),
      "inferno's search script is embedded"
    );
  }

  #[test]
  fn narrow_frames_are_dropped_by_min_width() {
    let o = FlamegraphOptions {
      min_width_pct: 50.0,
      ..Default::default()
    };
    let f = frames(&report_to_flamegraph(&report(), &o).unwrap());
    assert!(f.iter().any(|x| x.0.starts_with("main (thread 0)")));
    assert!(!f.iter().any(|x| x.0.starts_with("worker (thread 1)")));
  }

  #[test]
  fn min_width_is_a_percentage_from_0_to_100() {
    for ok in [0.0, 0.01, 50.0, 100.0] {
      assert_eq!(FlamegraphOptions::min_width_problem(ok), None, "{ok}");
    }
    for bad in [-0.001, 100.001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
      assert_eq!(
        FlamegraphOptions::min_width_problem(bad),
        Some(MIN_WIDTH_EXPECTED),
        "{bad}"
      );
    }
  }

  #[test]
  fn idle_samples_can_be_left_out() {
    let idle = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"children":[2,3]},
      {"id":2,"callFrame":{"functionName":"(idle)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}},
      {"id":3,"callFrame":{"functionName":"d","scriptId":"1","url":"/app/i.js","lineNumber":0,"columnNumber":0}}
    ],"startTime":0,"endTime":400,"samples":[2,2,2,3],"timeDeltas":[100,100,100,100]}"#;
    let mut r = report();
    r.add(ThreadProfile {
      thread_id: 2,
      name: "idler".into(),
      profile: Arc::new(Profile::from_json(idle.as_bytes()).unwrap()),
      cpu_time_ns: None,
    })
    .unwrap();
    let with = frames(&report_to_flamegraph(&r, &FlamegraphOptions::default()).unwrap());
    assert!(with.iter().any(|f| f.0.starts_with("(idle) (3 samples")));
    let without = FlamegraphOptions {
      idle: false,
      ..Default::default()
    };
    let svg = report_to_flamegraph(&r, &without).unwrap();
    assert!(svg.contains("13 non-idle samples"), "subtitle");
    let f = frames(&svg);
    assert!(!f.iter().any(|f| f.0.starts_with("(idle)")));
    let w = width_of(&f, "idler (thread 2) (1 samples");
    assert!((w - 100.0 / 13.0).abs() < 0.01, "{w}");
  }

  #[test]
  fn an_empty_report_gives_an_svg_that_says_so() {
    let r = Report::merge("p", vec![]).unwrap();
    let svg = report_to_flamegraph(
      &r,
      &FlamegraphOptions {
        title: "a&b".into(),
        ..Default::default()
      },
    )
    .unwrap();
    assert!(
      svg.contains("a&amp;b") && svg.contains("no samples"),
      "{svg}"
    );
  }

  #[test]
  fn an_error_displays_as_its_message() {
    assert_eq!(FlamegraphError("no".into()).to_string(), "no");
  }

  #[test]
  fn shade_is_the_top_24_bits_of_fnv1a_as_a_fraction() {
    let top = |h: u64| (h >> 40) as f32 / (1u64 << 24) as f32;
    // FNV-1a (64 bits) of "" is its offset basis; of "a" it is 0xaf63dc4c8601ec8c.
    assert_eq!(shade(""), top(0xcbf2_9ce4_8422_2325));
    assert_eq!(shade("a"), top(0xaf63_dc4c_8601_ec8c));
    assert!((0.0..1.0).contains(&shade("some frame")));
  }

  #[test]
  fn only_the_thread_frame_is_slate_and_the_app_frames_above_it_are_hot() {
    let svg = report_to_flamegraph(&report(), &FlamegraphOptions::default()).unwrap();
    let fill = |label: &str| {
      let g = svg.split("<g>").find(|g| g.contains(label)).unwrap();
      g.split("fill=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
    };
    let rgb = |c: Color| format!("rgb({},{},{})", c.r, c.g, c.b);
    // The stack is "main (thread 0);a (/app/x.js:1);b (/app/x.js:10)": the thread frame is
    // the bottom one (depth 1), the app's first frame the one above it (depth 2).
    assert_eq!(
      fill("main (thread 0)"),
      rgb(frame_color("main (thread 0)", 1))
    );
    assert_eq!(
      fill("a (/app/x.js:1)"),
      rgb(frame_color("a (/app/x.js:1)", 2))
    );
    assert_ne!(
      fill("a (/app/x.js:1)"),
      rgb(frame_color("a (/app/x.js:1)", 1))
    );
    assert_eq!(
      fill("b (/app/x.js:10)"),
      rgb(frame_color("b (/app/x.js:10)", 3))
    );
  }

  #[test]
  fn colours_are_fixed_per_name_kind_and_depth() {
    let colour = |text: &str, depth: usize| {
      let c = frame_color(text, depth);
      (c.r, c.g, c.b)
    };
    let got: Vec<_> = [
      ("main (thread 1)", 1),
      ("(idle)", 1),
      ("(idle)", 2),
      ("(program)", 2),
      ("(root)", 3),
      ("(garbage collector)", 2),
      ("read (node:fs:12)", 2),
      ("run (internal/timers:5)", 2),
      ("dep (/app/node_modules/x/i.js:3)", 3),
      ("(regexp ab)", 3),
      ("open paren (no close", 3),
      ("mine (/app/x.js:9)", 3),
    ]
    .iter()
    .map(|&(t, d)| colour(t, d))
    .collect();
    // Pinned: a frame keeps its colour from graph to graph and release to release.
    assert_eq!(
      got,
      vec![
        (160, 180, 210),
        (167, 187, 217),
        (223, 223, 223),
        (186, 186, 186),
        (185, 185, 185),
        (224, 174, 129),
        (127, 202, 237),
        (119, 193, 229),
        (224, 169, 239),
        (234, 234, 99),
        (191, 191, 80),
        (246, 201, 45),
      ]
    );
  }
}
