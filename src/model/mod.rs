//! The one data model every part of profdiff speaks: [`Profile`].
//!
//! It follows pprof's `profile.proto` closely so that pprof round-trips through it without
//! loss: sample types with units, samples as (stack of locations, values), interned functions,
//! locations (address, mapping, inline chain of lines) and mappings (file, build id, address
//! range). On top of that it keeps free-form metadata and data-quality counters, which pprof
//! only has as comments.
//!
//! Conventions (the same as pprof):
//! - ids are indexes into the owning vectors ([`FunctionId`] into `functions`, …);
//! - a sample's `locations` are **leaf first** (the sampled instruction first, `main` last);
//! - a location's `lines` are **innermost first**: `lines[0]` is the inlined callee that was
//!   executing, the last entry is the function the code physically belongs to.
//!
//! Folded stacks are the simplest projection of this model: see [`Profile::stack_names`].
//! Readers build profiles through [`ProfileBuilder`], which interns functions and locations and
//! aggregates identical stacks, so memory grows with unique stacks, not with samples.

pub mod ops;
pub mod roots;

use crate::hash_index::HashIndex;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Index into [`Profile::functions`].
pub type FunctionId = u32;
/// Index into [`Profile::locations`].
pub type LocationId = u32;
/// Index into [`Profile::mappings`].
pub type MappingId = u32;

/// What a sample value measures, e.g. `samples`/`count` or `cpu`/`nanoseconds`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct ValueType {
    pub kind: String,
    pub unit: String,
}

impl ValueType {
    pub fn new(kind: impl Into<String>, unit: impl Into<String>) -> Self {
        ValueType {
            kind: kind.into(),
            unit: unit.into(),
        }
    }
    /// `samples`/`count`, the sample type of text formats that only count samples.
    pub fn samples() -> Self {
        Self::new("samples", "count")
    }
    /// True when the unit is a time unit profdiff knows how to scale.
    pub fn is_time(&self) -> bool {
        unit_nanos(&self.unit).is_some()
    }
}

/// Nanoseconds per one `unit`, for the time units pprof uses.
pub fn unit_nanos(unit: &str) -> Option<f64> {
    Some(match unit {
        "nanoseconds" | "nanosecond" | "ns" => 1.0,
        "microseconds" | "microsecond" | "us" => 1e3,
        "milliseconds" | "millisecond" | "ms" => 1e6,
        "seconds" | "second" | "s" => 1e9,
        _ => return None,
    })
}

/// A label on a sample (pprof `Label`): either a string or a number with an optional unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Label {
    pub key: String,
    pub str: Option<String>,
    pub num: Option<i64>,
    pub num_unit: Option<String>,
}

/// One aggregated stack with its values (one per [`Profile::sample_types`] entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// Leaf first.
    pub locations: Vec<LocationId>,
    pub values: Vec<i64>,
    pub labels: Vec<Label>,
}

/// A loaded binary or library: where it was mapped and what it was.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Mapping {
    pub start: u64,
    pub limit: u64,
    pub offset: u64,
    pub file: String,
    pub build_id: String,
    pub has_functions: bool,
    pub has_filenames: bool,
    pub has_line_numbers: bool,
    pub has_inline_frames: bool,
}

/// One frame position in source: a function and a line in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Line {
    pub function: FunctionId,
    pub line: i64,
    pub column: i64,
}

/// A program location: an address (when known) and the chain of inlined source lines there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Location {
    pub mapping: Option<MappingId>,
    /// Instruction address in the process (0 when unknown, as in text formats).
    pub address: u64,
    /// Innermost (inlined callee) first. Empty for an unsymbolized address.
    pub lines: Vec<Line>,
    pub is_folded: bool,
}

impl Location {
    /// A name-only frame (text formats): one line of a function of that name, interned by
    /// `function`; the empty name and `[unknown]` give an unknown location.
    pub fn named(name: &str, function: impl FnOnce(Function) -> FunctionId) -> Location {
        if name.is_empty() || name == UNKNOWN {
            return Location::default();
        }
        let f = function(Function {
            name: name.to_string(),
            system_name: name.to_string(),
            ..Default::default()
        });
        Location {
            lines: vec![Line {
                function: f,
                line: 0,
                column: 0,
            }],
            ..Default::default()
        }
    }
}

/// A function: display name, raw (mangled/system) name, source file and first line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Function {
    pub name: String,
    pub system_name: String,
    pub filename: String,
    pub start_line: i64,
}

/// How trustworthy a profile is; compared across sides before giving a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct DataQuality {
    /// Samples the kernel or the profiler reported as lost.
    pub lost_samples: u64,
    /// Sample-weighted count of frames that could not be symbolized (`[unknown]`, bare addresses).
    pub unknown_frames: u64,
    /// Sample-weighted count of all frames seen (denominator of `unknown_frames`).
    pub total_frames: u64,
    /// Stacks cut short by a depth limit or a failed unwind.
    pub truncated_stacks: u64,
    /// Human-readable notes (e.g. "kernel frames not permitted", "binary /x missing").
    pub notes: Vec<String>,
}

impl DataQuality {
    /// Share of frames that stayed unknown, 0.0 when no frames were counted.
    pub fn unknown_share(&self) -> f64 {
        if self.total_frames == 0 {
            0.0
        } else {
            self.unknown_frames as f64 / self.total_frames as f64
        }
    }
    pub fn add(&mut self, other: &DataQuality) {
        self.lost_samples += other.lost_samples;
        self.unknown_frames += other.unknown_frames;
        self.total_frames += other.total_frames;
        self.truncated_stacks += other.truncated_stacks;
        for n in &other.notes {
            if !self.notes.contains(n) {
                self.notes.push(n.clone());
            }
        }
    }
}

/// A profile: see the module docs.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct Profile {
    pub sample_types: Vec<ValueType>,
    /// Index into `sample_types` of the type to show by default (pprof: the last one if unset).
    pub default_sample_type: Option<usize>,
    pub samples: Vec<Sample>,
    pub mappings: Vec<Mapping>,
    pub locations: Vec<Location>,
    pub functions: Vec<Function>,
    pub drop_frames: String,
    pub keep_frames: String,
    /// Wall-clock time the profile started, nanoseconds since the Unix epoch (0 = unknown).
    pub time_nanos: i64,
    /// Length of the profiled interval in nanoseconds (0 = unknown).
    pub duration_nanos: i64,
    pub period_type: Option<ValueType>,
    /// Sampling period in `period_type` units (e.g. 1001001 ns for 999 Hz).
    pub period: i64,
    pub comments: Vec<String>,
    /// Free metadata: `command`, `host`, `tool`, `event`, `frequency`, `format`, …
    pub metadata: BTreeMap<String, String>,
    pub quality: DataQuality,
}

/// Name used for frames nothing is known about.
pub const UNKNOWN: &str = "[unknown]";

impl Profile {
    /// The index of the sample type analyses use unless told otherwise.
    ///
    /// pprof's rule: `default_sample_type` if set, else the last sample type.
    pub fn default_value_index(&self) -> usize {
        match self.default_sample_type {
            Some(i) if i < self.sample_types.len() => i,
            _ => self.sample_types.len().saturating_sub(1),
        }
    }

    /// Find a sample type by its `kind` (e.g. "cpu", "samples") or by its index as text.
    pub fn value_index(&self, which: Option<&str>) -> Option<usize> {
        match which {
            None => {
                if self.sample_types.is_empty() {
                    None
                } else {
                    Some(self.default_value_index())
                }
            }
            Some(w) => {
                if let Ok(i) = w.parse::<usize>() {
                    return (i < self.sample_types.len()).then_some(i);
                }
                self.sample_types.iter().position(|t| t.kind == w)
            }
        }
    }

    /// Sum of values of sample type `idx` over all samples.
    pub fn total(&self, idx: usize) -> i64 {
        self.samples
            .iter()
            .map(|s| s.values.get(idx).copied().unwrap_or(0))
            .fold(0i64, |a, b| a.saturating_add(b))
    }

    /// The display name of one source line's function.
    pub fn function_name(&self, f: FunctionId) -> &str {
        self.functions
            .get(f as usize)
            .map(|f| f.name.as_str())
            .unwrap_or(UNKNOWN)
    }

    /// Frames of one location, innermost first. An unsymbolized location yields one frame name
    /// derived from its mapping and address (see [`Profile::unknown_frame_name`]).
    pub fn location_frames(&self, loc: LocationId) -> LocationFrames<'_> {
        LocationFrames {
            profile: self,
            loc,
            next: 0,
        }
    }

    /// Name for a location without lines: `[unknown]` with module and offset when known, so the
    /// frame can be re-symbolized and so unknown frames of different modules stay apart.
    pub fn unknown_frame_name(&self, loc: &Location) -> String {
        if let Some(m) = loc.mapping.and_then(|m| self.mappings.get(m as usize)) {
            let module = m.file.rsplit('/').next().unwrap_or(&m.file);
            if !module.is_empty() && loc.address != 0 {
                let off = loc.address.wrapping_sub(m.start).wrapping_add(m.offset);
                return format!("[{module}+{off:#x}]");
            }
            if !module.is_empty() {
                return format!("[{module}]");
            }
        }
        if loc.address != 0 {
            format!("{:#x}", loc.address)
        } else {
            UNKNOWN.to_string()
        }
    }

    /// Frame names of a sample, **root first** (the order of folded stacks), inline frames
    /// expanded (caller before inlined callee).
    pub fn stack_names(&self, sample: &Sample) -> Vec<std::borrow::Cow<'_, str>> {
        let mut out = Vec::with_capacity(sample.locations.len());
        for &loc in sample.locations.iter().rev() {
            let start = out.len();
            out.extend(self.location_frames(loc));
            out[start..].reverse();
        }
        out
    }

    /// A short one-line description for titles: command, duration, sample count.
    pub fn describe(&self) -> String {
        self.describe_with_totals(|i| self.total(i))
    }

    /// [`Profile::describe`] with the total of each sample type given (for a profile whose
    /// samples went elsewhere, see [`crate::formats::parse_visiting`]).
    pub fn describe_with_totals(&self, total: impl Fn(usize) -> i64) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.metadata.get("command") {
            parts.push(c.clone());
        }
        if self.duration_nanos > 0 {
            parts.push(format!("{:.2} s", self.duration_nanos as f64 / 1e9));
        }
        if let Some(i) = self.value_index(Some("samples")) {
            parts.push(format!("{} samples", total(i)));
        } else if !self.sample_types.is_empty() {
            let i = self.default_value_index();
            parts.push(format!(
                "{} {} {}",
                total(i),
                self.sample_types[i].unit,
                self.sample_types[i].kind
            ));
        }
        parts.join(", ")
    }

    /// Check every id is in range; readers call this so later stages can index without checks.
    pub fn validate(&self) -> Result<(), String> {
        let nt = self.sample_types.len();
        for (i, s) in self.samples.iter().enumerate() {
            if s.values.len() != nt {
                return Err(format!(
                    "sample {i} has {} values but there are {nt} sample types",
                    s.values.len()
                ));
            }
            if let Some(&l) = s
                .locations
                .iter()
                .find(|&&l| l as usize >= self.locations.len())
            {
                return Err(format!("sample {i} refers to missing location {l}"));
            }
        }
        for (i, l) in self.locations.iter().enumerate() {
            if let Some(m) = l.mapping {
                if m as usize >= self.mappings.len() {
                    return Err(format!("location {i} refers to missing mapping {m}"));
                }
            }
            if let Some(line) = l
                .lines
                .iter()
                .find(|x| x.function as usize >= self.functions.len())
            {
                return Err(format!(
                    "location {i} refers to missing function {}",
                    line.function
                ));
            }
        }
        Ok(())
    }
}

/// Iterator over a location's frame names; see [`Profile::location_frames`].
pub struct LocationFrames<'a> {
    profile: &'a Profile,
    loc: LocationId,
    next: usize,
}

impl<'a> Iterator for LocationFrames<'a> {
    type Item = std::borrow::Cow<'a, str>;
    fn next(&mut self) -> Option<Self::Item> {
        let loc = self.profile.locations.get(self.loc as usize)?;
        if loc.lines.is_empty() {
            if self.next == 0 {
                self.next = 1;
                return Some(self.profile.unknown_frame_name(loc).into());
            }
            return None;
        }
        let line = loc.lines.get(self.next)?;
        self.next += 1;
        Some(self.profile.function_name(line.function).into())
    }
}

/// Builds a [`Profile`], interning functions, locations and mappings and merging samples with
/// identical stacks (and no labels) so memory grows with unique stacks.
#[derive(Default)]
pub struct ProfileBuilder {
    profile: Profile,
    /// Functions, locations and mappings by a hash of their contents (compared in place in
    /// the profile's tables, not kept twice).
    functions: HashIndex,
    /// Name-only frames (text formats): name → location.
    frames: FxHashMap<String, LocationId>,
    locations: HashIndex,
    mappings: HashIndex,
    /// Unlabeled samples by a hash of their stack (compared in place, not kept twice).
    stacks: HashIndex,
}

impl ProfileBuilder {
    /// Start a profile with these sample types.
    pub fn new(sample_types: Vec<ValueType>) -> Self {
        ProfileBuilder {
            profile: Profile {
                sample_types,
                ..Profile::default()
            },
            ..Default::default()
        }
    }

    /// Mutable access to everything that is not interned (metadata, period, duration, …).
    pub fn profile_mut(&mut self) -> &mut Profile {
        &mut self.profile
    }
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn function(&mut self, f: Function) -> FunctionId {
        intern(
            &mut self.functions,
            &mut self.profile.functions,
            Cow::Owned(f),
        ) as FunctionId
    }

    /// [`ProfileBuilder::function`] for a borrowed function: cloned only when it is new.
    pub fn function_ref(&mut self, f: &Function) -> FunctionId {
        intern(
            &mut self.functions,
            &mut self.profile.functions,
            Cow::Borrowed(f),
        ) as FunctionId
    }

    pub fn mapping(&mut self, m: Mapping) -> MappingId {
        intern(
            &mut self.mappings,
            &mut self.profile.mappings,
            Cow::Owned(m),
        ) as MappingId
    }

    /// [`ProfileBuilder::mapping`] for a borrowed mapping: cloned only when it is new.
    pub fn mapping_ref(&mut self, m: &Mapping) -> MappingId {
        intern(
            &mut self.mappings,
            &mut self.profile.mappings,
            Cow::Borrowed(m),
        ) as MappingId
    }

    pub fn location(&mut self, l: Location) -> LocationId {
        intern(
            &mut self.locations,
            &mut self.profile.locations,
            Cow::Owned(l),
        ) as LocationId
    }

    /// [`ProfileBuilder::location`] for a borrowed location: cloned only when it is new.
    pub fn location_ref(&mut self, l: &Location) -> LocationId {
        intern(
            &mut self.locations,
            &mut self.profile.locations,
            Cow::Borrowed(l),
        ) as LocationId
    }

    /// A location for a frame known only by name (text formats). An empty name or
    /// `[unknown]` becomes a location without lines, which displays as `[unknown]`.
    pub fn frame(&mut self, name: &str) -> LocationId {
        if let Some(&id) = self.frames.get(name) {
            return id;
        }
        let loc = Location::named(name, |f| self.function(f));
        // Not interned through `locations`: a name-only frame must not merge with an
        // address-carrying location that happens to have the same single line.
        let id = self.profile.locations.len() as LocationId;
        self.profile.locations.push(loc);
        self.frames.insert(name.to_string(), id);
        id
    }

    /// Add values to the sample with this stack (leaf first), creating it if new.
    pub fn add_sample(&mut self, stack: &[LocationId], values: &[i64]) {
        self.add_sample_at(stack, values);
    }

    /// [`ProfileBuilder::add_sample`], returning the index of the sample the values went to.
    pub fn add_sample_at(&mut self, stack: &[LocationId], values: &[i64]) -> usize {
        let hash = crate::hash_index::hash_of(stack);
        let samples = &self.profile.samples;
        let found = self.stacks.find(hash, |i| samples[i].locations == stack);
        if let Some(i) = found {
            let s = &mut self.profile.samples[i];
            for (a, b) in s.values.iter_mut().zip(values) {
                *a = a.saturating_add(*b);
            }
            return i;
        }
        let i = self.profile.samples.len();
        let mut v = values.to_vec();
        v.resize(self.profile.sample_types.len(), 0);
        self.profile.samples.push(Sample {
            locations: stack.to_vec(),
            values: v,
            labels: Vec::new(),
        });
        self.stacks.insert(hash, i);
        i
    }

    /// Add a sample that carries labels; such samples are kept apart (never merged).
    pub fn add_labeled_sample(
        &mut self,
        stack: Vec<LocationId>,
        values: Vec<i64>,
        labels: Vec<Label>,
    ) {
        if labels.is_empty() {
            self.add_sample(&stack, &values);
            return;
        }
        self.profile.samples.push(Sample {
            locations: stack,
            values,
            labels,
        });
    }

    pub fn finish(self) -> Profile {
        // The interning maps (a copy of every function, location and stack) are not needed
        // any more; the binary leaves them for exit to reclaim (see `crate::exit`).
        crate::exit::drop_later((
            self.functions,
            self.frames,
            self.locations,
            self.mappings,
            self.stacks,
        ));
        self.profile
    }

    /// Room for about this many samples, locations and functions without rehashing.
    pub fn reserve(&mut self, samples: usize, locations: usize, functions: usize) {
        self.stacks.reserve(samples);
        self.profile.samples.reserve(samples);
        self.locations.reserve(locations);
        self.profile.locations.reserve(locations);
        self.functions.reserve(functions);
        self.profile.functions.reserve(functions);
    }
}

/// The index of `item` in `items`, pushed (cloned if borrowed) when it is not there yet.
fn intern<T: Clone + Eq + std::hash::Hash>(
    index: &mut HashIndex,
    items: &mut Vec<T>,
    item: Cow<'_, T>,
) -> usize {
    let hash = crate::hash_index::hash_of(&*item);
    if let Some(i) = index.find(hash, |i| items[i] == *item) {
        return i;
    }
    let i = items.len();
    items.push(item.into_owned());
    index.insert(hash, i);
    i
}

/// Where readers of name-only stacks (folded text) put what they parse: a [`ProfileBuilder`]
/// building one profile, or a merger adding straight into a merged profile
/// ([`ops::Merger::add_stacks`]).
pub trait StackSink {
    /// The location of a frame known only by name (see [`ProfileBuilder::frame`]).
    fn frame(&mut self, name: &str) -> LocationId;
    /// Add values to the sample with this stack (leaf first).
    fn add_sample(&mut self, stack: &[LocationId], values: &[i64]);
}

impl StackSink for ProfileBuilder {
    fn frame(&mut self, name: &str) -> LocationId {
        ProfileBuilder::frame(self, name)
    }
    fn add_sample(&mut self, stack: &[LocationId], values: &[i64]) {
        ProfileBuilder::add_sample(self, stack, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_merge_by_stack_even_when_hashes_collide() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let (f, g, h) = (b.frame("f"), b.frame("g"), b.frame("h"));
        assert_eq!(b.add_sample_at(&[f, g], &[1]), 0);
        assert_eq!(b.add_sample_at(&[f, g], &[2]), 0);
        // Make `[h, g]` look like `[f, g]` to the hash index: it must still be a sample of
        // its own, found again by its stack.
        b.stacks.insert(crate::hash_index::hash_of(&[h, g][..]), 0);
        assert_eq!(b.add_sample_at(&[h, g], &[5]), 1);
        assert_eq!(b.add_sample_at(&[h, g], &[1]), 1);
        assert_eq!(b.add_sample_at(&[f, g], &[1]), 0);
        let p = b.finish();
        assert_eq!(p.samples.len(), 2);
        assert_eq!((p.samples[0].values[0], p.samples[1].values[0]), (4, 6));
    }

    #[test]
    fn builder_merges_identical_stacks_and_names_root_first() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let main = b.frame("main");
        let f = b.frame("f");
        let unk = b.frame("[unknown]");
        b.add_sample(&[f, main], &[2]);
        b.add_sample(&[f, main], &[3]);
        b.add_sample(&[unk, main], &[1]);
        let p = b.finish();
        assert_eq!(p.samples.len(), 2);
        assert_eq!(p.samples[0].values, vec![5]);
        assert_eq!(p.total(0), 6);
        assert_eq!(p.stack_names(&p.samples[0]), vec!["main", "f"]);
        assert_eq!(p.stack_names(&p.samples[1]), vec!["main", "[unknown]"]);
        p.validate().unwrap();
    }

    #[test]
    fn inline_frames_expand_caller_first() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let outer = b.function(Function {
            name: "outer".into(),
            ..Default::default()
        });
        let inner = b.function(Function {
            name: "inner".into(),
            ..Default::default()
        });
        let main = b.frame("main");
        let loc = b.location(Location {
            address: 0x1000,
            lines: vec![
                Line {
                    function: inner,
                    line: 3,
                    column: 0,
                },
                Line {
                    function: outer,
                    line: 9,
                    column: 0,
                },
            ],
            ..Default::default()
        });
        b.add_sample(&[loc, main], &[1]);
        let p = b.finish();
        assert_eq!(p.stack_names(&p.samples[0]), vec!["main", "outer", "inner"]);
    }

    #[test]
    fn unknown_frames_keep_module_and_offset() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let m = b.mapping(Mapping {
            start: 0x400000,
            limit: 0x500000,
            offset: 0x1000,
            file: "/usr/bin/app".into(),
            ..Default::default()
        });
        let l = b.location(Location {
            mapping: Some(m),
            address: 0x400010,
            ..Default::default()
        });
        b.add_sample(&[l], &[1]);
        let p = b.finish();
        assert_eq!(p.stack_names(&p.samples[0]), vec!["[app+0x1010]"]);
    }
}
