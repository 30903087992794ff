//! OTLP profiles: an `ExportProfilesServiceRequest` of opentelemetry-proto v1.11.0
//! (`opentelemetry/proto/collector/profiles/v1development/profiles_service.proto`), the
//! body of `POST /v1development/profiles` with `Content-Type: application/x-protobuf`.
//!
//! The messages are declared here with prost's derive, field by field from that release's
//! .proto files, rather than generated: generating needs protoc at build time, and only
//! the handful of messages an exporter writes are needed. One `Profile` per period, values
//! `samples/count`; every sample carries `thread.id` and `thread.name`, a request's
//! samples its attributes and a `Link` to the trace span active where it started.

use std::collections::HashMap;

use prost::Message;

use crate::core::encode::function_name;
use crate::core::period::Period;
use crate::core::profile::Profile as V8Profile;

pub mod proto {
  //! opentelemetry-proto v1.11.0, the fields this exporter writes (and their numbers).
  use prost::{Message, Oneof};

  #[derive(Clone, PartialEq, Message)]
  pub struct ExportProfilesServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_profiles: Vec<ResourceProfiles>,
    #[prost(message, optional, tag = "2")]
    pub dictionary: Option<ProfilesDictionary>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct ProfilesDictionary {
    #[prost(message, repeated, tag = "1")]
    pub mapping_table: Vec<Mapping>,
    #[prost(message, repeated, tag = "2")]
    pub location_table: Vec<Location>,
    #[prost(message, repeated, tag = "3")]
    pub function_table: Vec<Function>,
    #[prost(message, repeated, tag = "4")]
    pub link_table: Vec<Link>,
    #[prost(string, repeated, tag = "5")]
    pub string_table: Vec<String>,
    #[prost(message, repeated, tag = "6")]
    pub attribute_table: Vec<KeyValueAndUnit>,
    #[prost(message, repeated, tag = "7")]
    pub stack_table: Vec<Stack>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct ResourceProfiles {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_profiles: Vec<ScopeProfiles>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct ScopeProfiles {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub profiles: Vec<Profile>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct InstrumentationScope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Profile {
    #[prost(message, optional, tag = "1")]
    pub sample_type: Option<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(uint64, tag = "4")]
    pub duration_nano: u64,
    #[prost(message, optional, tag = "5")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "6")]
    pub period: i64,
    #[prost(bytes = "vec", tag = "7")]
    pub profile_id: Vec<u8>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Link {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct ValueType {
    #[prost(int32, tag = "1")]
    pub type_strindex: i32,
    #[prost(int32, tag = "2")]
    pub unit_strindex: i32,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Sample {
    #[prost(int32, tag = "1")]
    pub stack_index: i32,
    #[prost(int32, repeated, tag = "2")]
    pub attribute_indices: Vec<i32>,
    #[prost(int32, tag = "3")]
    pub link_index: i32,
    #[prost(int64, repeated, tag = "4")]
    pub values: Vec<i64>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Mapping {
    #[prost(uint64, tag = "1")]
    pub memory_start: u64,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Stack {
    #[prost(int32, repeated, tag = "1")]
    pub location_indices: Vec<i32>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Location {
    #[prost(int32, tag = "1")]
    pub mapping_index: i32,
    #[prost(message, repeated, tag = "3")]
    pub lines: Vec<Line>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Line {
    #[prost(int32, tag = "1")]
    pub function_index: i32,
    #[prost(int64, tag = "2")]
    pub line: i64,
    #[prost(int64, tag = "3")]
    pub column: i64,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct Function {
    #[prost(int32, tag = "1")]
    pub name_strindex: i32,
    #[prost(int32, tag = "2")]
    pub system_name_strindex: i32,
    #[prost(int32, tag = "3")]
    pub filename_strindex: i32,
    #[prost(int64, tag = "4")]
    pub start_line: i64,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct KeyValueAndUnit {
    #[prost(int32, tag = "1")]
    pub key_strindex: i32,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
    #[prost(int32, tag = "3")]
    pub unit_strindex: i32,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
  }

  #[derive(Clone, PartialEq, Message)]
  pub struct AnyValue {
    #[prost(oneof = "Value", tags = "1, 3")]
    pub value: Option<Value>,
  }

  #[derive(Clone, PartialEq, Oneof)]
  pub enum Value {
    #[prost(string, tag = "1")]
    StringValue(String),
    #[prost(int64, tag = "3")]
    IntValue(i64),
  }
}

use proto::*;

#[derive(Debug, Clone, Default)]
pub struct OtlpOptions {
  /// Resource attributes (`service.name`, ...), strings.
  pub resource: Vec<(String, String)>,
  pub scope_name: String,
  pub scope_version: String,
  /// Wall-clock start of the period, ns since the Unix epoch.
  pub time_unix_nano: u64,
  pub duration_nano: u64,
  /// The sampling interval, ns of wall time.
  pub period_nanos: i64,
  /// 16 bytes, or empty.
  pub profile_id: Vec<u8>,
}

/// The tables of a `ProfilesDictionary`, each with its zero value first as the spec wants.
struct Dictionary {
  d: ProfilesDictionary,
  strings: HashMap<String, i32>,
  functions: HashMap<(i32, i32, i64), i32>,
  locations: HashMap<(i32, i64, i64), i32>,
  stacks: HashMap<Vec<i32>, i32>,
  // Keyed by the value's debug text: prost's oneofs are not Hash.
  attributes: HashMap<(i32, String), i32>,
}

impl Dictionary {
  fn new() -> Dictionary {
    let mut x = Dictionary {
      d: ProfilesDictionary {
        mapping_table: vec![Mapping::default()],
        location_table: vec![Location::default()],
        function_table: vec![Function::default()],
        link_table: vec![Link::default()],
        string_table: Vec::new(),
        attribute_table: vec![KeyValueAndUnit::default()],
        stack_table: vec![Stack::default()],
      },
      strings: HashMap::new(),
      functions: HashMap::new(),
      locations: HashMap::new(),
      stacks: HashMap::new(),
      attributes: HashMap::new(),
    };
    x.string("");
    x
  }

  fn string(&mut self, s: &str) -> i32 {
    if let Some(&i) = self.strings.get(s) {
      return i;
    }
    let i = self.d.string_table.len() as i32;
    self.d.string_table.push(s.to_string());
    self.strings.insert(s.to_string(), i);
    i
  }

  fn attribute(&mut self, key: &str, value: Value) -> i32 {
    let k = self.string(key);
    let table = &mut self.d.attribute_table;
    *self
      .attributes
      .entry((k, format!("{value:?}")))
      .or_insert_with(|| {
        table.push(KeyValueAndUnit {
          key_strindex: k,
          value: Some(AnyValue { value: Some(value) }),
          unit_strindex: 0,
        });
        table.len() as i32 - 1
      })
  }

  /// OTLP lines and columns are 1-based like pprof's; V8's are 0-based, -1 when unknown.
  fn location(&mut self, p: &V8Profile, node: usize) -> i32 {
    let cf = &p.nodes[node].call_frame;
    let line = (cf.line_number + 1).max(0);
    let column = (cf.column_number + 1).max(0);
    let name = self.string(function_name(cf));
    let file = self.string(&cf.url);
    let functions = &mut self.d.function_table;
    let function_index = *self.functions.entry((name, file, line)).or_insert_with(|| {
      functions.push(Function {
        name_strindex: name,
        system_name_strindex: name,
        filename_strindex: file,
        start_line: line,
      });
      functions.len() as i32 - 1
    });
    let locations = &mut self.d.location_table;
    *self
      .locations
      .entry((function_index, line, column))
      .or_insert_with(|| {
        locations.push(Location {
          mapping_index: 0,
          lines: vec![Line {
            function_index,
            line,
            column,
          }],
        });
        locations.len() as i32 - 1
      })
  }

  fn stack(&mut self, p: &V8Profile, node: usize, cache: &mut [Option<i32>]) -> i32 {
    // Leaf first.
    let mut ids = Vec::new();
    for i in p.stack(node).into_iter().rev() {
      let id = match cache[i] {
        Some(id) => id,
        None => {
          let id = self.location(p, i);
          cache[i] = Some(id);
          id
        }
      };
      ids.push(id);
    }
    let stacks = &mut self.d.stack_table;
    *self.stacks.entry(ids.clone()).or_insert_with(|| {
      stacks.push(Stack {
        location_indices: ids,
      });
      stacks.len() as i32 - 1
    })
  }
}

/// Encode one period as an `ExportProfilesServiceRequest` (not compressed).
pub fn period_to_otlp(period: &Period, o: &OtlpOptions) -> Vec<u8> {
  let mut d = Dictionary::new();
  let sample_type = ValueType {
    type_strindex: d.string("samples"),
    unit_strindex: d.string("count"),
  };
  let period_type = ValueType {
    type_strindex: d.string("wall"),
    unit_strindex: d.string("nanoseconds"),
  };
  let mut samples = Vec::new();
  for t in &period.threads {
    let p = &t.profile;
    let base = vec![
      d.attribute("thread.id", Value::IntValue(t.thread_id)),
      d.attribute("thread.name", Value::StringValue(t.name.clone())),
    ];
    let per_request: Vec<(Vec<i32>, i32)> = t
      .attributions
      .iter()
      .map(|a| {
        let mut attrs = base.clone();
        for (k, v) in &a.labels {
          attrs.push(d.attribute(k, Value::StringValue(v.clone())));
        }
        let link = match &a.link {
          None => 0,
          Some(l) => {
            d.d.link_table.push(Link {
              trace_id: l.trace_id.to_vec(),
              span_id: l.span_id.to_vec(),
            });
            d.d.link_table.len() as i32 - 1
          }
        };
        (attrs, link)
      })
      .collect();
    let mut cache = vec![None; p.nodes.len()];
    for x in t.tally(period.interval_us) {
      let stack_index = d.stack(p, x.node, &mut cache);
      let (attribute_indices, link_index) = match x.attribution {
        Some(k) => per_request[k].clone(),
        None => (base.clone(), 0),
      };
      samples.push(Sample {
        stack_index,
        attribute_indices,
        link_index,
        values: vec![x.count],
      });
    }
  }
  let profile = Profile {
    sample_type: Some(sample_type),
    samples,
    time_unix_nano: o.time_unix_nano,
    duration_nano: o.duration_nano,
    period_type: Some(period_type),
    period: o.period_nanos,
    profile_id: o.profile_id.clone(),
  };
  let request = ExportProfilesServiceRequest {
    resource_profiles: vec![ResourceProfiles {
      resource: Some(Resource {
        attributes: o
          .resource
          .iter()
          .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue {
              value: Some(Value::StringValue(v.clone())),
            }),
          })
          .collect(),
        dropped_attributes_count: 0,
      }),
      scope_profiles: vec![ScopeProfiles {
        scope: Some(InstrumentationScope {
          name: o.scope_name.clone(),
          version: o.scope_version.clone(),
        }),
        profiles: vec![profile],
        schema_url: String::new(),
      }],
      schema_url: String::new(),
    }],
    dictionary: Some(d.d),
  };
  request.encode_to_vec()
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::core::period::tests::{request, thread};

  #[test]
  fn tables_start_with_zero_values_and_samples_add_up() {
    let mut t = thread();
    t.attributions = vec![request("GET /a", &[1150.0, 1550.0])];
    let bytes = period_to_otlp(
      &Period {
        threads: vec![t],
        interval_us: 0,
      },
      &OtlpOptions::default(),
    );
    let r = ExportProfilesServiceRequest::decode(bytes.as_slice()).unwrap();
    let d = r.dictionary.unwrap();
    assert_eq!(d.string_table[0], "");
    assert_eq!(d.stack_table[0], Stack::default());
    assert_eq!(d.attribute_table[0], KeyValueAndUnit::default());
    let p = &r.resource_profiles[0].scope_profiles[0].profiles[0];
    let total: i64 = p.samples.iter().map(|s| s.values[0]).sum();
    assert_eq!(total, 4);
    let name = |i: i32| &d.string_table[d.attribute_table[i as usize].key_strindex as usize];
    assert!(p.samples.iter().all(|s| s
      .attribute_indices
      .iter()
      .any(|&i| name(i) == "thread.name")));
  }
}
