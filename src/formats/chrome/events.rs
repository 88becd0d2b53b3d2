//! Streaming over a trace's events without building a JSON tree of the file: each event of the
//! `traceEvents` array (or of the top-level array) is read into an [`Event`] whose fields are
//! borrowed slices of the input's JSON text (`RawValue`), handed to a callback, and dropped.
//! Fields the reader never looks at are skipped unparsed. A trace then costs memory in
//! proportion to what the profile keeps, not to the file: a `serde_json::Value` tree of a trace
//! is many times larger than its text.
//!
//! The JSON semantics are those of `serde_json::Value`: a repeated key keeps its last value, a
//! field of the wrong type reads as absent, an element of the event array that is not an
//! object is ignored.

use crate::error::ParseError;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The fields of one trace event the reader uses, as JSON text.
#[derive(Default, Clone, Copy)]
pub(super) struct Event<'a> {
    pub ph: Option<&'a RawValue>,
    pub name: Option<&'a RawValue>,
    pub pid: Option<&'a RawValue>,
    pub tid: Option<&'a RawValue>,
    pub ts: Option<&'a RawValue>,
    pub id: Option<&'a RawValue>,
    pub dur: Option<&'a RawValue>,
    pub tdur: Option<&'a RawValue>,
    pub args: Option<&'a RawValue>,
}

/// What the file holds besides its events.
#[derive(Default)]
pub(super) struct Outline<'a> {
    /// The file is an array cut off before its closing `]`: its events were read up to the
    /// last whole one.
    pub repaired: bool,
    /// The object form's top-level `samples` and `stackFrames` (the format's own sample
    /// events), unparsed.
    pub samples: Option<&'a RawValue>,
    pub stack_frames: Option<&'a RawValue>,
}

/// Hand every event of a trace-event file to `each`, in file order. An error `each` returns
/// stops the reading and is returned as is; a JSON error is described as such.
pub(super) fn for_each_event<'a>(
    data: &'a [u8],
    mut each: impl FnMut(Event<'a>) -> Result<(), ParseError>,
) -> Result<Outline<'a>, ParseError> {
    let mut state = State {
        each: &mut each,
        failed: None,
        root_is_array: false,
        has_events: false,
        outline: Outline::default(),
    };
    let mut de = serde_json::Deserializer::from_slice(data);
    let read = de
        .deserialize_any(RootVisitor(&mut state))
        .and_then(|root| de.end().map(|()| root));
    if let Some(e) = state.failed.take() {
        return Err(e);
    }
    match read {
        Ok(Root::Trace) if state.has_events => Ok(state.outline),
        Ok(Root::Trace) => Err(ParseError::new(
            "not a trace-event file: the object has no \"traceEvents\" array",
        )),
        Ok(Root::Other) => Err(ParseError::new(
            "not a trace-event file: expected an array or object",
        )),
        // Tracers that stop without finishing the file leave the array open.
        Err(e) if e.is_eof() && state.root_is_array => {
            state.outline.repaired = true;
            Ok(state.outline)
        }
        Err(e) => Err(ParseError::new(format!(
            "not a valid trace-event JSON file: {e}"
        ))),
    }
}

/// The text of a JSON string, None for other values.
pub(super) fn text(v: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let raw = v?.get();
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// A JSON number as f64 (as `Value::as_f64`), None for other values.
pub(super) fn number(v: Option<&RawValue>) -> Option<f64> {
    serde_json::from_str::<f64>(v?.get()).ok()
}

/// A JSON number as `Value` prints it, None for other values.
pub(super) fn number_text(v: Option<&RawValue>) -> Option<String> {
    serde_json::from_str::<serde_json::Number>(v?.get())
        .ok()
        .map(|n| n.to_string())
}

/// The value parsed as a JSON tree (for small parts: arguments, one profile chunk).
pub(super) fn tree(v: &RawValue) -> Result<serde_json::Value, ParseError> {
    serde_json::from_str(v.get()).map_err(|e| ParseError::new(format!("invalid JSON: {e}")))
}

/// The value of `key` in a JSON object (the last one when repeated), None when the value is
/// not an object or has no such key.
pub(super) fn field<'a>(v: Option<&'a RawValue>, key: &str) -> Option<&'a RawValue> {
    let mut de = serde_json::Deserializer::from_str(v?.get());
    de.deserialize_any(FieldVisitor(key)).ok().flatten()
}

struct FieldVisitor<'k>(&'k str);

impl<'de> Visitor<'de> for FieldVisitor<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(k) = m.next_key::<Cow<'de, str>>()? {
            if k == self.0 {
                found = Some(m.next_value::<&'de RawValue>()?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The reading's state, shared by the visitors.
struct State<'s, 'a> {
    each: &'s mut dyn FnMut(Event<'a>) -> Result<(), ParseError>,
    /// The error `each` returned, which stopped the reading.
    failed: Option<ParseError>,
    /// The document is an array (so a cut-off file can be read up to its last event).
    root_is_array: bool,
    /// An event array was found (top-level, or `traceEvents` holding an array).
    has_events: bool,
    outline: Outline<'a>,
}

enum Root {
    /// An array, or an object (with or without `traceEvents`).
    Trace,
    /// A string, number, boolean or null.
    Other,
}

/// Keys of the top-level object.
enum TopKey {
    TraceEvents,
    Samples,
    StackFrames,
    Other,
}

/// Keys of an event.
enum EventKey {
    Ph,
    Name,
    Pid,
    Tid,
    Ts,
    Id,
    Dur,
    Tdur,
    Args,
    Other,
}

/// Deserialize a key by matching its (unescaped) text.
macro_rules! key_from_str {
    ($ty:ident { $($text:literal => $variant:ident),* $(,)? }) => {
        impl<'de> de::Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("an object key")
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$ty, E> {
                        Ok(match s {
                            $($text => $ty::$variant,)*
                            _ => $ty::Other,
                        })
                    }
                }
                d.deserialize_identifier(V)
            }
        }
    };
}

key_from_str!(TopKey {
    "traceEvents" => TraceEvents,
    "samples" => Samples,
    "stackFrames" => StackFrames,
});

key_from_str!(EventKey {
    "ph" => Ph,
    "name" => Name,
    "pid" => Pid,
    "tid" => Tid,
    "ts" => Ts,
    "id" => Id,
    "dur" => Dur,
    "tdur" => Tdur,
    "args" => Args,
});

/// Visits anything but arrays and objects as `Other` (the default a visitor's methods give).
macro_rules! scalars_are {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

struct RootVisitor<'r, 's, 'a>(&'r mut State<'s, 'a>);

impl<'de, 's> Visitor<'de> for RootVisitor<'_, 's, 'de> {
    type Value = Root;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of trace events or an object with \"traceEvents\"")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Root, A::Error> {
        self.0.root_is_array = true;
        EventsVisitor(self.0).visit_seq(s)?;
        Ok(Root::Trace)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Root, A::Error> {
        while let Some(k) = m.next_key::<TopKey>()? {
            match k {
                TopKey::TraceEvents => {
                    // A repeated `traceEvents` replaces the first (as in a JSON tree): only
                    // the first is read, the others are skipped.
                    if self.0.has_events {
                        m.next_value::<IgnoredAny>()?;
                    } else {
                        m.next_value_seed(EventsSeed(self.0))?;
                    }
                }
                TopKey::Samples => self.0.outline.samples = Some(m.next_value()?),
                TopKey::StackFrames => self.0.outline.stack_frames = Some(m.next_value()?),
                TopKey::Other => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Root::Trace)
    }

    scalars_are!(Root::Other);
}

/// The value of `traceEvents`: streamed when it is an array, skipped otherwise.
struct EventsSeed<'r, 's, 'a>(&'r mut State<'s, 'a>);

impl<'de, 's> DeserializeSeed<'de> for EventsSeed<'_, 's, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(EventsVisitor(self.0))
    }
}

struct EventsVisitor<'r, 's, 'a>(&'r mut State<'s, 'a>);

impl<'de, 's> Visitor<'de> for EventsVisitor<'_, 's, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of trace events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        self.0.has_events = true;
        while let Some(event) = s.next_element::<MaybeEvent<'de>>()? {
            let Some(event) = event.0 else { continue };
            if let Err(e) = (self.0.each)(event) {
                self.0.failed = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    scalars_are!(());
}

/// An element of the event array: an event when it is an object.
struct MaybeEvent<'a>(Option<Event<'a>>);

impl<'de> de::Deserialize<'de> for MaybeEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = MaybeEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a trace event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut e = Event::default();
        while let Some(k) = m.next_key::<EventKey>()? {
            let slot = match k {
                EventKey::Ph => &mut e.ph,
                EventKey::Name => &mut e.name,
                EventKey::Pid => &mut e.pid,
                EventKey::Tid => &mut e.tid,
                EventKey::Ts => &mut e.ts,
                EventKey::Id => &mut e.id,
                EventKey::Dur => &mut e.dur,
                EventKey::Tdur => &mut e.tdur,
                EventKey::Args => &mut e.args,
                EventKey::Other => {
                    m.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(m.next_value()?);
        }
        Ok(MaybeEvent(Some(e)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeEvent(None))
    }

    scalars_are!(MaybeEvent(None));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(json: &str) -> Result<(Vec<String>, bool), ParseError> {
        let mut out = Vec::new();
        let outline = for_each_event(json.as_bytes(), |e| {
            out.push(text(e.name).unwrap_or_default().into_owned());
            Ok(())
        })?;
        Ok((out, outline.repaired))
    }

    #[test]
    fn streams_both_forms_with_json_tree_semantics() {
        let (n, cut) = names(r#"[{"name":"a"}, 3, [1], {"name":"b","name":"c"}]"#).unwrap();
        assert_eq!((n, cut), (vec!["a".into(), "c".into()], false));
        let (n, _) =
            names(r#"{"x":{"traceEvents":[]},"traceEvents":[{"name":"a\u0062"}]}"#).unwrap();
        assert_eq!(n, vec!["ab".to_string()]);
        assert!(names(r#"{"traceEvents":3}"#).is_err());
        assert!(names("3").is_err());
        assert!(names(r#"[{"name":"a"}] x"#).is_err());
    }

    #[test]
    fn cut_off_array_keeps_whole_events() {
        let (n, cut) = names(r#"[{"name":"a"},{"name":"b","args":{"x":"#).unwrap();
        assert_eq!((n, cut), (vec!["a".to_string()], true));
        // A cut-off object is an error.
        assert!(names(r#"{"traceEvents":[{"name":"a"},"#).is_err());
    }

    #[test]
    fn fields_and_scalars() {
        let v: &RawValue = serde_json::from_str(r#"{"data":1,"data":{"x":2.5}}"#).unwrap();
        let d = field(Some(v), "data");
        assert_eq!(number(field(d, "x")), Some(2.5));
        assert!(field(d, "y").is_none());
        let n: &RawValue = serde_json::from_str("1.50").unwrap();
        assert_eq!(number_text(Some(n)).as_deref(), Some("1.5"));
        assert_eq!(text(Some(n)), None);
    }
}
