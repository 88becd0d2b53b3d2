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
    let Some(first) = profiles.first() else {
        return Err(MergeError("nothing to merge".into()));
    };
    let mut b = ProfileBuilder::new(first.sample_types.clone());
    for (n, p) in profiles.iter().enumerate() {
        if p.sample_types != first.sample_types {
            return Err(MergeError(format!(
                "profile {} has sample types [{}] but the first has [{}]",
                n + 1,
                describe_types(&p.sample_types),
                describe_types(&first.sample_types)
            )));
        }
        merge_into(&mut b, p);
    }
    let out = b.profile_mut();
    out.default_sample_type = first.default_sample_type;
    out.period_type = first.period_type.clone();
    out.period = first.period;
    out.drop_frames = first.drop_frames.clone();
    out.keep_frames = first.keep_frames.clone();
    out.time_nanos = profiles
        .iter()
        .map(|p| p.time_nanos)
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(0);
    out.duration_nanos = profiles.iter().map(|p| p.duration_nanos.max(0)).sum();
    for p in profiles {
        for (k, v) in &p.metadata {
            out.metadata.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for c in &p.comments {
            if !out.comments.contains(c) {
                out.comments.push(c.clone());
            }
        }
    }
    Ok(b.finish())
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
