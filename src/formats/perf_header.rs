//! Checks of a perf.data file's header, feature table and the feature sections profdiff reads,
//! made before linux-perf-data sees the file. The crate trusts the sizes and counts it reads:
//! it allocates a feature section's declared size (`vec![0; size]`), reserves room for a
//! declared number of events or command-line words, and divides by the declared attribute
//! size. A corrupt or hostile header would make it reserve gigabytes (an abort, which
//! `catch_unwind` cannot catch) or divide by zero, so every size, count and offset it will use
//! is checked here against what the file can hold.

use crate::error::ParseError;

/// The smallest `perf_event_attr` (PERF_ATTR_SIZE_VER0).
const MIN_ATTR_SIZE: u64 = 64;
/// Far larger than any `perf_event_attr` so far (136 bytes in Linux 6.x).
const MAX_ATTR_SIZE: u64 = 4096;
/// Feature numbers (perf's `HEADER_*`) whose contents linux-perf-data parses with counts.
const FEATURE_CMDLINE: u32 = 11;
const FEATURE_EVENT_DESC: u32 = 12;
/// Longest event name accepted (perf's are a few dozen bytes).
const MAX_NAME: u64 = 1 << 20;

/// Reads integers of the file's byte order, failing past the end instead of panicking.
struct Fields<'a> {
    data: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn u64(&self, at: u64) -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        let b: [u8; 8] = self.data.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    fn u32(&self, at: u64) -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
}

/// Check a regular (not pipe-mode) perf.data file before it is handed to linux-perf-data.
pub fn check(data: &[u8]) -> Result<(), ParseError> {
    // struct perf_file_header: magic, size, attr_size, attrs{offset,size}, data{offset,size},
    // event_types{offset,size}, adds_features[4].
    if data.len() < 104 {
        crate::parse_bail!(
            "the file is truncated ({} bytes, shorter than the 104-byte perf.data header)",
            data.len()
        );
    }
    let f = Fields {
        data,
        big: data.starts_with(b"2ELIFREP"),
    };
    let len = data.len() as u64;
    let word = |at: u64| f.u64(at).unwrap_or(0);
    let attr_size = word(16);
    if !(MIN_ATTR_SIZE..=MAX_ATTR_SIZE).contains(&attr_size) {
        crate::parse_bail!(
            "corrupt perf.data header: event attribute size {attr_size} (expected {MIN_ATTR_SIZE} to {MAX_ATTR_SIZE} bytes)"
        );
    }
    let mut sections = Vec::new();
    for (name, at) in [("attributes", 24), ("data", 40), ("event types", 56)] {
        let (offset, size) = (word(at), word(at + 8));
        in_file(name, offset, size, len)?;
        sections.push((offset, size));
    }
    let (data_offset, data_size) = sections[1];
    check_auxtrace(&f, data_offset, data_offset + data_size)?;
    let (types_offset, types_size) = sections[2];
    let features: Vec<u32> = (0..256u32)
        .filter(|&bit| word(72 + 8 * u64::from(bit / 64)) >> (bit % 64) & 1 == 1)
        .collect();
    // The feature table follows the data section: one {offset, size} per feature bit set.
    let table = data_offset + data_size;
    let mut event_desc = None;
    for (i, &feature) in features.iter().enumerate() {
        let entry = table + 16 * i as u64;
        let (Some(offset), Some(size)) = (f.u64(entry), f.u64(entry + 8)) else {
            crate::parse_bail!(
                "the file is truncated: its feature table ({} entries at offset {table}) ends beyond the file's {len} bytes",
                features.len()
            );
        };
        in_file(&format!("feature {feature}"), offset, size, len)?;
        match feature {
            FEATURE_EVENT_DESC => event_desc = Some((offset, size)),
            FEATURE_CMDLINE => check_string_list(&f, offset, size)?,
            _ => {}
        }
    }
    match event_desc {
        Some((offset, size)) => check_event_desc(&f, offset, size),
        None if types_size != 0 => check_event_types(&f, types_offset, types_size, attr_size),
        None => Ok(()),
    }
}

/// Check the metadata records at the start of a pipe-mode file (attributes and features, the
/// header a regular file keeps in its feature sections) before linux-perf-data reads them.
pub fn check_pipe(data: &[u8]) -> Result<(), ParseError> {
    let f = Fields {
        data,
        big: data.starts_with(b"2ELIFREP"),
    };
    check_auxtrace(&f, 16, data.len() as u64)?;
    let mut at = 16u64;
    // struct perf_event_header { u32 type; u16 misc; u16 size; }
    while let (Some(kind), Some(word)) = (f.u32(at), f.u64(at)) {
        let size = if f.big { word & 0xffff } else { word >> 48 };
        match kind {
            PERF_RECORD_HEADER_ATTR => {}
            PERF_RECORD_HEADER_FEATURE if size >= 16 => {
                let body = Fields {
                    data: data
                        .get(at as usize + 16..(at + size) as usize)
                        .unwrap_or(&[]),
                    big: f.big,
                };
                let len = body.data.len() as u64;
                // The reader keeps the low 32 bits of the feature number.
                match f.u64(at + 8).unwrap_or(0) as u32 {
                    FEATURE_EVENT_DESC => check_event_desc(&body, 0, len)?,
                    FEATURE_CMDLINE => check_string_list(&body, 0, len)?,
                    _ => {}
                }
            }
            _ => return Ok(()),
        }
        if size < 8 {
            return Ok(());
        }
        at += size;
    }
    Ok(())
}

/// AUX-trace records (`PERF_RECORD_AUXTRACE`) are followed by `size` bytes of trace data
/// that linux-perf-data reads into a buffer of that size: walk the record headers of
/// `start..end` and refuse a record whose trace data would end beyond `end`. The walk stops
/// where a header is unreadable (the reader reports that itself).
fn check_auxtrace(f: &Fields, start: u64, end: u64) -> Result<(), ParseError> {
    let mut at = start;
    while at + 8 <= end {
        let (Some(kind), Some(word)) = (f.u32(at), f.u64(at)) else {
            break;
        };
        let size = if f.big { word & 0xffff } else { word >> 48 };
        if size < 8 {
            break;
        }
        at += size;
        if kind == PERF_RECORD_AUXTRACE && size >= 16 {
            let trace = f.u64(at - size + 8).unwrap_or(u64::MAX);
            match at.checked_add(trace) {
                Some(next) if next <= end => at = next,
                _ => crate::parse_bail!(
                    "corrupt AUXTRACE record at offset {}: {trace} bytes of trace data, beyond the data's end at offset {end}",
                    at - size
                ),
            }
        }
    }
    Ok(())
}

const PERF_RECORD_AUXTRACE: u32 = 71;

/// Pipe-mode metadata record types (perf's `PERF_RECORD_HEADER_*`).
const PERF_RECORD_HEADER_ATTR: u32 = 64;
const PERF_RECORD_HEADER_FEATURE: u32 = 80;

fn in_file(name: &str, offset: u64, size: u64, len: u64) -> Result<(), ParseError> {
    match offset.checked_add(size) {
        Some(end) if end <= len => Ok(()),
        _ => crate::parse_bail!(
            "the file is truncated or corrupt: its {name} section ({size} bytes at offset {offset}) ends beyond the file's {len} bytes"
        ),
    }
}

fn corrupt(what: &str) -> ParseError {
    ParseError::new(format!("corrupt perf.data header: {what}"))
}

/// HEADER_EVENT_DESC: `nr`, `attr_size`, then per event the attribute, `nr_ids`, a string
/// (`u32` length + bytes) and `nr_ids` ids. Every count must fit in the section.
fn check_event_desc(f: &Fields, offset: u64, size: u64) -> Result<(), ParseError> {
    let end = offset + size;
    let bad = || corrupt("its event description section does not fit its declared counts");
    let nr = f.u32(offset).ok_or_else(bad)?;
    let attr_size = u64::from(f.u32(offset + 4).ok_or_else(bad)?);
    if !(MIN_ATTR_SIZE..=MAX_ATTR_SIZE).contains(&attr_size) {
        return Err(corrupt(&format!(
            "event description attribute size {attr_size}"
        )));
    }
    let mut at = offset + 8;
    for _ in 0..nr {
        // The attribute's own size decides how much of it is read (see `attr_size_readable`).
        let own = u64::from(f.u32(at + 4).filter(|_| at + 8 <= end).ok_or_else(bad)?);
        if !attr_size_readable(own, attr_size) {
            return Err(corrupt(&format!(
                "an event attribute of {own} bytes in a {attr_size}-byte slot"
            )));
        }
        at += attr_size;
        let nr_ids = u64::from(f.u32(at).filter(|_| at + 4 <= end).ok_or_else(bad)?);
        at += 4;
        let name_len = u64::from(f.u32(at).filter(|_| at + 4 <= end).ok_or_else(bad)?);
        if name_len > MAX_NAME {
            return Err(corrupt(&format!("an event name of {name_len} bytes")));
        }
        at += 4 + name_len;
        at += 8 * nr_ids;
        if at > end {
            return Err(bad());
        }
    }
    Ok(())
}

/// Whether an attribute whose own `size` field says `own` is read as exactly `slot` bytes.
/// The reader (linux-perf-event-reader) reads the fields of each `PERF_ATTR_SIZE_VER*` size
/// up to `own`, skips the rest of `own` past 128 bytes, then skips `slot - own`: a size
/// between two version sizes below 128 leaves it out of step with the section, reading
/// counts from the wrong bytes. perf only writes version sizes.
fn attr_size_readable(own: u64, slot: u64) -> bool {
    own <= slot && (own >= 128 || [64, 72, 80, 96, 104, 112, 120].contains(&own))
}

/// The event types section: per event an attribute and an {offset, size} of its ids, which
/// must lie in the file.
fn check_event_types(f: &Fields, offset: u64, size: u64, attr_size: u64) -> Result<(), ParseError> {
    let len = f.data.len() as u64;
    let entry = attr_size + 16;
    for i in 0..size / entry {
        let ids = offset + i * entry + attr_size;
        let (Some(o), Some(s)) = (f.u64(ids), f.u64(ids + 8)) else {
            return Err(corrupt("its event types section is truncated"));
        };
        in_file("event ids", o, s, len)?;
    }
    Ok(())
}

/// A string list (HEADER_CMDLINE): a `u32` count, then that many `u32`-length strings.
fn check_string_list(f: &Fields, offset: u64, size: u64) -> Result<(), ParseError> {
    let end = offset + size;
    let bad = || corrupt("its command line section does not fit its declared counts");
    let count = f.u32(offset).filter(|_| size >= 4).ok_or_else(bad)?;
    let mut at = offset + 4;
    for _ in 0..count {
        let n = u64::from(f.u32(at).filter(|_| at + 4 <= end).ok_or_else(bad)?);
        if n > MAX_NAME {
            return Err(corrupt(&format!("a command-line word of {n} bytes")));
        }
        at += 4 + n;
        if at > end {
            return Err(bad());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal little-endian header: attr section of one 136-byte attribute after the
    /// header, an empty data section, and the given feature bits and table entries.
    fn header(features: u64, table: &[(u64, u64)], tail: &[u8]) -> Vec<u8> {
        let mut v = b"PERFILE2".to_vec();
        let attr_at = 104u64;
        let data_at = attr_at + 136;
        for x in [
            104u64, 136, attr_at, 136, data_at, 0, 0, 0, features, 0, 0, 0,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.resize(data_at as usize, 0);
        for &(o, s) in table {
            v.extend_from_slice(&o.to_le_bytes());
            v.extend_from_slice(&s.to_le_bytes());
        }
        v.extend_from_slice(tail);
        v
    }

    #[test]
    fn plain_header_passes() {
        assert_eq!(check(&header(0, &[], &[])), Ok(()));
    }

    #[test]
    fn attribute_size_zero_or_huge_is_refused() {
        let mut v = header(0, &[], &[]);
        for bad in [0u64, 1, 63, 1 << 40] {
            v[16..24].copy_from_slice(&bad.to_le_bytes());
            let e = check(&v).unwrap_err();
            assert!(e.0.contains("attribute size"), "{e}");
        }
    }

    #[test]
    fn feature_section_beyond_the_file_is_refused() {
        // HEADER_HOSTNAME (bit 3) declaring 4 GiB.
        let v = header(1 << 3, &[(300, 1 << 32)], &[]);
        let e = check(&v).unwrap_err();
        assert!(e.0.contains("feature 3 section"), "{e}");
    }

    #[test]
    fn feature_table_cut_short_is_refused() {
        let v = header(0b1111 << 3, &[(0, 0)], &[]);
        assert!(check(&v).unwrap_err().0.contains("feature table"));
    }

    #[test]
    fn event_desc_count_larger_than_its_section_is_refused() {
        let table_end = 104 + 136 + 16;
        let mut body = Vec::new();
        body.extend_from_slice(&u32::MAX.to_le_bytes()); // nr
        body.extend_from_slice(&136u32.to_le_bytes()); // attr_size
        let v = header(1 << 12, &[(table_end, body.len() as u64)], &body);
        assert!(check(&v).unwrap_err().0.contains("event description"));
    }

    #[test]
    fn cmdline_word_count_larger_than_its_section_is_refused() {
        let table_end = 104 + 136 + 16;
        let mut body = Vec::new();
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(b"a\0");
        let v = header(1 << 11, &[(table_end, body.len() as u64)], &body);
        assert!(check(&v).unwrap_err().0.contains("command line"));
    }
}
