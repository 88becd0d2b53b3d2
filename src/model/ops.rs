//! Plain functions over [`Profile`]: merge, scale, compaction. Like pprof's `profile` package,
//! they never parse and never print.

use super::*;

/// Why two profiles cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct MergeError(pub String);

/// Merge profiles into one. Sample types must agree (kind and unit, in the same order);
/// functions, locations and mappings are re-interned so equal entities are shared; samples with
/// equal stacks (and no labels) are summed. Durations add up, the earliest start time is kept,
/// data-quality counters add up, metadata of the first profile wins on conflicts.
pub fn merge(profiles: &[Profile]) -> Result<Profile, MergeError> {
    let mut m = Merger::new();
    for p in profiles {
        m.add(p)?;
    }
    m.finish()
        .ok_or_else(|| MergeError("nothing to merge".into()))
}

/// Incremental merge with the semantics of [`merge`]: profiles are added one at a time (and
/// can be dropped right after), so memory grows with the unique stacks of the result, not
/// with the number of inputs. Two mergers of consecutive inputs combine with [`Merger::absorb`]
/// (the left one's metadata wins), which makes a parallel tree reduction possible.
#[derive(Default)]
pub struct Merger {
    builder: Option<ProfileBuilder>,
    /// Profiles added so far (for error messages).
    count: usize,
}

impl Merger {
    pub fn new() -> Self {
        Merger::default()
    }

    /// Number of profiles merged so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Add one profile.
    pub fn add(&mut self, p: &Profile) -> Result<(), MergeError> {
        self.add_counted(p, 1)
    }

    fn add_counted(&mut self, p: &Profile, n: usize) -> Result<(), MergeError> {
        match &mut self.builder {
            None => {
                let mut b = ProfileBuilder::new(p.sample_types.clone());
                {
                    let out = b.profile_mut();
                    out.default_sample_type = p.default_sample_type;
                    out.period_type = p.period_type.clone();
                    out.period = p.period;
                    out.drop_frames = p.drop_frames.clone();
                    out.keep_frames = p.keep_frames.clone();
                }
                merge_into(&mut b, p);
                let out = b.profile_mut();
                out.time_nanos = p.time_nanos.max(0);
                out.duration_nanos = p.duration_nanos.max(0);
                out.metadata = p.metadata.clone();
                out.comments = p.comments.clone();
                self.builder = Some(b);
            }
            Some(b) => {
                if p.sample_types != b.profile().sample_types {
                    return Err(MergeError(format!(
                        "profile {} has sample types [{}] but the first has [{}]",
                        self.count + 1,
                        describe_types(&p.sample_types),
                        describe_types(&b.profile().sample_types)
                    )));
                }
                merge_into(b, p);
                let out = b.profile_mut();
                if p.time_nanos > 0 && (out.time_nanos == 0 || p.time_nanos < out.time_nanos) {
                    out.time_nanos = p.time_nanos;
                }
                out.duration_nanos = out.duration_nanos.saturating_add(p.duration_nanos.max(0));
                for (k, v) in &p.metadata {
                    out.metadata.entry(k.clone()).or_insert_with(|| v.clone());
                }
                for c in &p.comments {
                    if !out.comments.contains(c) {
                        out.comments.push(c.clone());
                    }
                }
            }
        }
        self.count += n;
        Ok(())
    }

    /// Add everything another merger collected (inputs that come after this merger's).
    pub fn absorb(&mut self, other: Merger) -> Result<(), MergeError> {
        let n = other.count;
        match other.finish() {
            Some(p) => self.add_counted(&p, n),
            None => Ok(()),
        }
    }

    /// The merged profile (`None` when nothing was added).
    pub fn finish(self) -> Option<Profile> {
        self.builder.map(|b| b.finish())
    }
}

/// Add all samples of `p` into builder `b` (sample types must already agree).
pub fn merge_into(b: &mut ProfileBuilder, p: &Profile) {
    let mapping_ids: Vec<MappingId> = p.mappings.iter().map(|m| b.mapping(m.clone())).collect();
    let function_ids: Vec<FunctionId> = p.functions.iter().map(|f| b.function(f.clone())).collect();
    let location_ids: Vec<LocationId> = p
        .locations
        .iter()
        .map(|l| {
            b.location(Location {
                mapping: l.mapping.map(|m| mapping_ids[m as usize]),
                address: l.address,
                lines: l
                    .lines
                    .iter()
                    .map(|ln| Line {
                        function: function_ids[ln.function as usize],
                        ..*ln
                    })
                    .collect(),
                is_folded: l.is_folded,
            })
        })
        .collect();
    let mut stack = Vec::new();
    for s in &p.samples {
        stack.clear();
        stack.extend(s.locations.iter().map(|&l| location_ids[l as usize]));
        b.add_labeled_sample(stack.clone(), s.values.clone(), s.labels.clone());
    }
    b.profile_mut().quality.add(&p.quality);
}

fn describe_types(t: &[ValueType]) -> String {
    t.iter()
        .map(|t| format!("{}/{}", t.kind, t.unit))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(lines: &[(&str, i64)]) -> Profile {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        for (stack, n) in lines {
            let mut locs: Vec<_> = stack.split(';').map(|f| b.frame(f)).collect();
            locs.reverse();
            b.add_sample(&locs, &[*n]);
        }
        b.finish()
    }

    #[test]
    fn merge_sums_equal_stacks() {
        let a = folded(&[("main;f", 2), ("main;g", 1)]);
        let b = folded(&[("main;f", 3), ("main;h", 4)]);
        let m = merge(&[a, b]).unwrap();
        assert_eq!(m.total(0), 10);
        assert_eq!(m.samples.len(), 3);
        let f = m
            .samples
            .iter()
            .find(|s| m.stack_names(s) == vec!["main", "f"])
            .unwrap();
        assert_eq!(f.values, vec![5]);
    }

    #[test]
    fn merge_rejects_different_sample_types() {
        let a = folded(&[("main", 1)]);
        let mut b = folded(&[("main", 1)]);
        b.sample_types[0] = ValueType::new("cpu", "nanoseconds");
        assert!(merge(&[a, b]).is_err());
    }
}
