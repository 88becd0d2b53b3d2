//! The JSON rendering of a comparison: a versioned document (schema in docs/json-compare.md).
//! `schema_version` changes only when a field changes meaning or disappears; new fields may
//! be added within a version.

use crate::analysis::diff::Diff;
use crate::analysis::gate::Verdict;
use serde::Serialize;
use std::io::{self, Write};

/// Current schema version of `compare --format json`.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    schema_version: u32,
    verdict: &'a Verdict,
    #[serde(flatten)]
    diff: &'a Diff,
}

/// Write the JSON document (pretty-printed, trailing newline).
pub fn write_json(d: &Diff, v: &Verdict, w: &mut dyn Write) -> io::Result<()> {
    let doc = Doc {
        schema: "profdiff.compare",
        schema_version: SCHEMA_VERSION,
        verdict: v,
        diff: d,
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}
