//! Address → inline frames, file and line over one file's DWARF, shared by all threads.
//!
//! What `addr2line -f -i` answers, with the per-binary setup cut to what a lookup needs: the
//! index reads each compilation unit's header and root entry only (its address ranges), and
//! parses a unit's abbreviations, line program and function tree the first time an address
//! falls in it. Every lazy part sits behind a `OnceLock`, so one index serves every worker
//! thread and no unit is parsed twice (a per-thread `addr2line::Context` re-read every unit's
//! abbreviation table per thread: ~90% of symbolization time on a 48 MB Rust binary).
//!
//! Semantics follow the addr2line crate, which matched binutils in the tests
//! (tests/symbolize_addr2line.rs; tests/dwarf_index.rs compares the two directly): unit ranges
//! from `DW_AT_ranges`, else `.debug_aranges`, else `DW_AT_low_pc`/`DW_AT_high_pc`, else the
//! line program's sequences; the innermost `DW_TAG_subprogram` and its
//! `DW_TAG_inlined_subroutine` chain; names from the linkage name, the name, or
//! `DW_AT_abstract_origin`/`DW_AT_specification` (also across units and into a dwz
//! supplementary file). One difference: units that declare no ranges are consulted only for
//! addresses no declared range covers (addr2line tries them in one list with the others), so
//! their line programs are read only when needed. Split DWARF (`.dwo`) is not followed, as
//! addr2line without a loader does not.

use gimli::{AttributeValue, Endianity as _, Reader as _, Section as _, UnitOffset};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

/// The reader: slices of the debug image (see `Module`, which owns the image).
pub type R<'a> = gimli::EndianSlice<'a, gimli::RunTimeEndian>;
type Unit<'a> = gimli::Unit<R<'a>>;
type UnitHeader<'a> = gimli::UnitHeader<R<'a>>;

/// Depth of `DW_AT_abstract_origin` / `DW_AT_specification` chains followed for a name.
const NAME_DEPTH: usize = 16;

/// Deepest inline nesting read (real code stays in the tens; the walk recurses per level).
const MAX_INLINE_DEPTH: usize = 1024;

/// One source frame of a lookup, innermost first (as addr2line's `Frame`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DwarfFrame<'a> {
    /// The raw (linkage, else plain) name; None when DWARF has none.
    pub name: Option<&'a [u8]>,
    /// `DW_AT_language` of the unit the address is in.
    pub language: Option<gimli::DwLang>,
    pub file: Option<&'a str>,
    /// 0: unknown.
    pub line: u32,
    /// 0: unknown or the left edge.
    pub column: u32,
}

/// A unit and its lazily parsed parts.
struct Slot<'a> {
    offset: gimli::DebugInfoOffset,
    header: UnitHeader<'a>,
    lang: Option<gimli::DwLang>,
    /// The root entry could not be read: the unit is not used.
    broken: bool,
    /// The unit with its full abbreviation table and line program header. (Boxed, like the
    /// rest: a big binary has thousands of slots and few are ever parsed.)
    full: OnceLock<Option<Box<Unit<'a>>>>,
    functions: OnceLock<Option<Box<Functions<'a>>>>,
    lines: OnceLock<Option<Box<Lines<'a>>>>,
}

impl<'a> Slot<'a> {
    fn new(header: UnitHeader<'a>, offset: gimli::DebugInfoOffset) -> Self {
        Slot {
            offset,
            header,
            lang: None,
            broken: false,
            full: OnceLock::new(),
            functions: OnceLock::new(),
            lines: OnceLock::new(),
        }
    }

    fn unit(&self, dwarf: &gimli::Dwarf<R<'a>>) -> Option<&Unit<'a>> {
        self.full
            .get_or_init(|| gimli::Unit::new(dwarf, self.header).ok().map(Box::new))
            .as_deref()
    }

    fn lines(&self, dwarf: &gimli::Dwarf<R<'a>>) -> Option<&Lines<'a>> {
        self.lines
            .get_or_init(|| {
                let unit = self.unit(dwarf)?;
                Lines::parse(unit).map(Box::new)
            })
            .as_deref()
    }
}

/// One address range of a unit, as sorted for lookups (by end, then unit).
struct UnitRange {
    begin: u64,
    end: u64,
    unit: usize,
    /// The smallest `begin` of this and every later range (ends the scan early).
    min_begin: u64,
}

/// Unit address ranges, sorted for finding every unit that covers an address.
struct Ranges(Vec<UnitRange>);

impl Ranges {
    fn new(list: Vec<(u64, u64, usize)>) -> Self {
        let mut v: Vec<UnitRange> = list
            .into_iter()
            .map(|(begin, end, unit)| UnitRange {
                begin,
                end,
                unit,
                min_begin: 0,
            })
            .collect();
        v.sort_unstable_by_key(|r| (r.end, r.unit));
        let mut min = u64::MAX;
        for r in v.iter_mut().rev() {
            min = min.min(r.begin);
            r.min_begin = min;
        }
        Ranges(v)
    }

    /// The units covering `probe`, by range end (the order addr2line tries them in).
    fn covering(&self, probe: u64) -> impl Iterator<Item = usize> + '_ {
        let start = self.0.partition_point(|r| r.end <= probe);
        self.0[start..]
            .iter()
            .take_while(move |r| probe >= r.min_begin)
            .filter(move |r| probe >= r.begin && probe < r.end)
            .map(|r| r.unit)
    }
}

/// Which file a unit belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum File {
    Primary,
    Sup,
}

/// The lookup index over one file's DWARF (and its dwz supplementary file).
pub struct DwarfIndex<'a> {
    dwarf: gimli::Dwarf<R<'a>>,
    units: Vec<Slot<'a>>,
    /// Declared unit ranges (root entry or `.debug_aranges`).
    ranges: Ranges,
    /// Units declaring no ranges, and their line programs.
    line_units: Vec<(usize, gimli::DebugLineOffset)>,
    line_ranges: OnceLock<Ranges>,
    /// Where the line-program ranges are kept between runs (see [`DwarfIndex::keep_ranges_in`]).
    range_cache: Option<super::section_cache::Derived>,
    /// The supplementary file's units, listed when a name first refers into it.
    sup_units: OnceLock<Vec<Slot<'a>>>,
}

/// The root entry's range and language attributes.
#[derive(Default)]
struct RangeAttrs {
    low_pc: Option<u64>,
    high_pc: Option<u64>,
    size: Option<u64>,
    ranges: Option<gimli::RangeListsOffset>,
}

impl RangeAttrs {
    /// Read a range attribute; false when `attr` is not one.
    fn read<'r>(
        &mut self,
        unit: gimli::UnitRef<'_, R<'r>>,
        attr: &gimli::Attribute<R<'r>>,
    ) -> bool {
        match attr.name() {
            gimli::DW_AT_low_pc => match attr.value() {
                AttributeValue::Addr(v) => self.low_pc = Some(v),
                AttributeValue::DebugAddrIndex(i) => self.low_pc = unit.address(i).ok(),
                _ => {}
            },
            gimli::DW_AT_high_pc => match attr.value() {
                AttributeValue::Addr(v) => self.high_pc = Some(v),
                AttributeValue::DebugAddrIndex(i) => self.high_pc = unit.address(i).ok(),
                AttributeValue::Udata(v) => self.size = Some(v),
                _ => {}
            },
            gimli::DW_AT_ranges => {
                self.ranges = unit.attr_ranges_offset(attr.value()).ok().flatten();
            }
            _ => return false,
        }
        true
    }

    /// Call `f` with each non-empty range; true when there was one.
    fn for_each(
        &self,
        unit: gimli::UnitRef<'_, R<'_>>,
        mut f: impl FnMut(u64, u64),
    ) -> gimli::Result<bool> {
        let mut any = false;
        let mut add = |b: u64, e: u64| {
            if b < e {
                f(b, e);
                any = true;
            }
        };
        if let Some(off) = self.ranges {
            let mut list = unit.ranges(off)?;
            while let Some(r) = list.next()? {
                add(r.begin, r.end);
            }
        } else if let (Some(b), Some(e)) = (self.low_pc, self.high_pc) {
            add(b, e);
        } else if let (Some(b), Some(s)) = (self.low_pc, self.size) {
            add(b, b.wrapping_add(s));
        }
        Ok(any)
    }
}

/// An abbreviation table holding only the declaration the unit's root entry uses: reading a
/// root entry then costs one declaration, not the unit's whole table.
fn root_abbreviations(
    dwarf: &gimli::Dwarf<R<'_>>,
    header: &UnitHeader<'_>,
) -> gimli::Result<gimli::Abbreviations> {
    let mut entry = header.range_from(header.root_offset()..)?;
    let code = entry.read_uleb128()?;
    let section: &[u8] = dwarf.debug_abbrev.reader().slice();
    let endian = dwarf.debug_abbrev.reader().endian();
    let start = header.debug_abbrev_offset().0;
    let mut r = gimli::EndianSlice::new(section.get(start..).unwrap_or(&[]), endian);
    loop {
        let decl = section.len() - r.len();
        let c = r.read_uleb128()?;
        if c == 0 {
            return Err(gimli::Error::MissingUnitDie);
        }
        r.read_uleb128()?; // tag
        r.read_u8()?; // children
        loop {
            let name = r.read_uleb128()?;
            let form = r.read_uleb128()?;
            if form == u64::from(gimli::DW_FORM_implicit_const.0) {
                r.read_sleb128()?;
            }
            if name == 0 && form == 0 {
                break;
            }
        }
        if c == code {
            let end = section.len() - r.len();
            let mut one = section[decl..end].to_vec();
            one.push(0);
            return gimli::DebugAbbrev::new(&one, endian)
                .abbreviations(gimli::DebugAbbrevOffset(0));
        }
    }
}

/// What the root pass learns about a unit.
struct Root {
    lang: Option<gimli::DwLang>,
    ranges: Vec<(u64, u64)>,
    /// No ranges declared: the unit's line program, whose sequences stand in for them.
    program: Option<gimli::DebugLineOffset>,
}

/// Read a unit's root entry with a one-declaration abbreviation table: its language and
/// address ranges (without the unit's full abbreviations or line program).
fn read_root<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: UnitHeader<'a>,
    aranges: &[(gimli::DebugInfoOffset, gimli::DebugArangesOffset)],
) -> gimli::Result<Root> {
    let abbrevs = Arc::new(root_abbreviations(dwarf, &header)?);
    let offset = header
        .debug_info_offset()
        .unwrap_or(gimli::DebugInfoOffset(0));
    // A unit with no line program or names: enough for `ranges` / `address` (which need the
    // encoding, `low_pc` and the address / range list bases).
    let mut unit = gimli::Unit {
        header,
        abbreviations: abbrevs,
        name: None,
        comp_dir: None,
        low_pc: 0,
        str_offsets_base: gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
            header.encoding(),
            dwarf.file_type,
        ),
        addr_base: gimli::DebugAddrBase(0),
        loclists_base: gimli::DebugLocListsBase::default_for_encoding_and_file(
            header.encoding(),
            dwarf.file_type,
        ),
        rnglists_base: gimli::DebugRngListsBase::default_for_encoding_and_file(
            header.encoding(),
            dwarf.file_type,
        ),
        line_program: None,
        dwo_id: None,
    };
    // First pass: the bases (they may follow the attributes that need them).
    let mut attrs = Vec::new();
    let (mut addr_base, mut rnglists_base) = (None, None);
    {
        let mut entries = unit.entries_raw(None)?;
        let Some(abbrev) = entries.read_abbreviation()? else {
            return Err(gimli::Error::MissingUnitDie);
        };
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec)?;
            match (attr.name(), attr.value()) {
                (
                    gimli::DW_AT_addr_base | gimli::DW_AT_GNU_addr_base,
                    AttributeValue::DebugAddrBase(b),
                ) => addr_base = Some(b),
                (
                    gimli::DW_AT_rnglists_base | gimli::DW_AT_GNU_ranges_base,
                    AttributeValue::DebugRngListsBase(b),
                ) => rnglists_base = Some(b),
                _ => attrs.push(attr),
            }
        }
    }
    if let Some(b) = addr_base {
        unit.addr_base = b;
    }
    if let Some(b) = rnglists_base {
        unit.rnglists_base = b;
    }
    let uref = gimli::UnitRef::new(dwarf, &unit);
    let mut ra = RangeAttrs::default();
    let mut lang = None;
    let mut stmt_list = None;
    for attr in &attrs {
        if ra.read(uref, attr) {
            continue;
        }
        match (attr.name(), attr.value()) {
            (gimli::DW_AT_language, AttributeValue::Language(l)) => lang = Some(l),
            (gimli::DW_AT_stmt_list, AttributeValue::DebugLineRef(o)) => stmt_list = Some(o),
            _ => {}
        }
    }
    // The base address of the unit's range lists.
    unit.low_pc = ra.low_pc.unwrap_or(0);
    let uref = gimli::UnitRef::new(dwarf, &unit);
    let mut ranges = Vec::new();
    // Preference as addr2line: DW_AT_ranges, then .debug_aranges, then low/high pc.
    let mut found = false;
    if ra.ranges.is_none() {
        let i = aranges.partition_point(|a| a.0 < offset);
        for (_, a) in aranges[i..].iter().take_while(|a| a.0 == offset) {
            let h = dwarf.debug_aranges.header(*a)?;
            let mut entries = h.entries();
            loop {
                match entries.next() {
                    Ok(Some(e)) => {
                        if e.length() != 0 {
                            let r = e.range();
                            ranges.push((r.begin, r.end));
                            found = true;
                        }
                    }
                    Ok(None) => break,
                    // Skip a bad entry (seen with rustc for a unit holding one variable);
                    // the iterator ends after errors it cannot step over.
                    Err(_) => continue,
                }
            }
        }
    }
    if !found {
        found = ra.for_each(uref, |b, e| ranges.push((b, e)))?;
    }
    // No ranges declared (Rust emits many units holding only declarations): the line
    // program's sequences, read only if an address is in no declared range.
    let program = if found {
        None
    } else {
        stmt_list.filter(|&o| has_line_rows(dwarf, o))
    };
    Ok(Root {
        lang,
        ranges,
        program,
    })
}

/// False when the line program at `off` is a header with no opcodes (what units holding only
/// declarations carry), read from its header fields alone; true when that header is unreadable
/// (the unit is then tried like any other).
fn has_line_rows(dwarf: &gimli::Dwarf<R<'_>>, off: gimli::DebugLineOffset) -> bool {
    line_encoding(dwarf, off, 8).is_none_or(|(_, program)| !program.is_empty())
}

/// The address ranges of a line program's sequences.
///
/// Only addresses matter here, so the opcodes are decoded by [`scan_sequences`] rather than
/// gimli's row iterator (which keeps every register and is several times slower), and of the
/// header only the encoding fields are read (not its directory and file tables).
fn sequence_ranges(
    dwarf: &gimli::Dwarf<R<'_>>,
    header: &UnitHeader<'_>,
    off: gimli::DebugLineOffset,
) -> Option<Vec<(u64, u64)>> {
    let (enc, program) = line_encoding(dwarf, off, header.address_size())?;
    scan_sequences(program, &enc)
}

/// The encoding fields of the line program header at `off`, and its opcodes.
fn line_encoding<'d>(
    dwarf: &gimli::Dwarf<R<'d>>,
    off: gimli::DebugLineOffset,
    unit_address_size: u8,
) -> Option<(LineEncodingFacts<'d>, &'d [u8])> {
    let body = || -> gimli::Result<(LineEncodingFacts<'d>, &'d [u8])> {
        let mut r = *dwarf.debug_line.reader();
        r.skip(off.0)?;
        let (len, format) = r.read_initial_length()?;
        let mut unit = r.split(len)?;
        let version = unit.read_u16()?;
        if !(2..=5).contains(&version) {
            return Err(gimli::Error::UnknownVersion(u64::from(version)));
        }
        let mut address_size = unit_address_size;
        if version >= 5 {
            address_size = unit.read_u8()?;
            unit.skip(1)?; // segment selector size
        }
        let header_len = unit.read_offset(format)?;
        let mut rest = unit.split(header_len)?;
        let min_inst_len = rest.read_u8()?;
        let max_ops = if version >= 4 { rest.read_u8()? } else { 1 };
        rest.skip(2)?; // default_is_stmt, line_base
        let line_range = rest.read_u8()?;
        let opcode_base = rest.read_u8()?;
        let standard_lengths = rest.split(usize::from(opcode_base.saturating_sub(1)))?;
        Ok((
            LineEncodingFacts {
                address_size,
                min_inst_len,
                max_ops,
                line_range,
                opcode_base,
                version,
                big_endian: unit.endian().is_big_endian(),
                standard_lengths: standard_lengths.slice(),
            },
            unit.slice(),
        ))
    };
    body().ok()
}

/// What [`scan_sequences`] needs of a line program header.
struct LineEncodingFacts<'h> {
    address_size: u8,
    min_inst_len: u8,
    max_ops: u8,
    line_range: u8,
    opcode_base: u8,
    version: u16,
    big_endian: bool,
    standard_lengths: &'h [u8],
}

/// The `[start, end)` address range of each sequence of a line program, decoded with the
/// state machine of DWARF 5 section 6.2 as gimli runs it (same tombstone rule: a
/// `DW_LNE_set_address` below the current address or at -1/-2 skips rows up to the next
/// address), tracking addresses only. None where gimli's row iterator would fail (truncated
/// or malformed opcodes, address overflow), so a unit's ranges are all or nothing as before.
fn scan_sequences(mut p: &[u8], h: &LineEncodingFacts<'_>) -> Option<Vec<(u64, u64)>> {
    fn uleb(p: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let (&b, rest) = p.split_first()?;
            *p = rest;
            if shift == 63 && b > 1 {
                return None; // overflows u64 (gimli: BadUnsignedLeb128)
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
        }
    }
    fn sleb(p: &mut &[u8]) -> Option<()> {
        let mut shift = 0u32;
        loop {
            let (&b, rest) = p.split_first()?;
            *p = rest;
            if shift == 63 && b != 0 && b != 0x7f {
                return None; // overflows i64 (gimli: BadSignedLeb128)
            }
            if b & 0x80 == 0 {
                return Some(());
            }
            shift += 7;
        }
    }
    let read = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate() {
            v |= u64::from(x) << (8 * if h.big_endian { b.len() - 1 - i } else { i });
        }
        v
    };
    if h.line_range == 0 || h.max_ops == 0 || !matches!(h.address_size, 1 | 2 | 4 | 8) {
        return None;
    }
    let mask = u64::MAX >> (64 - u32::from(h.address_size) * 8);
    let min_tombstone = mask.wrapping_sub(1);
    let min_len = u64::from(h.min_inst_len);
    let max_ops = u64::from(h.max_ops);
    let const_add = u64::from((255 - h.opcode_base) / h.line_range);
    // Registers: address, op_index, tombstone.
    let (mut address, mut op_index, mut tombstone) = (0u64, 0u64, false);
    let advance = |address: &mut u64, op_index: &mut u64, tombstone: bool, ops: u64| {
        if tombstone {
            return Some(());
        }
        let by = if max_ops == 1 {
            *op_index = 0;
            min_len.wrapping_mul(ops)
        } else {
            let with = op_index.wrapping_add(ops);
            *op_index = with % max_ops;
            min_len.wrapping_mul(with / max_ops)
        };
        let a = address.checked_add(by)?;
        (a & !mask == 0).then(|| *address = a)
    };
    // Operation advance of each special opcode (a division per opcode otherwise).
    let mut special = [0u64; 256];
    for (op, s) in special
        .iter_mut()
        .enumerate()
        .skip(usize::from(h.opcode_base))
    {
        *s = ((op as u64) - u64::from(h.opcode_base)) / u64::from(h.line_range);
    }
    let mut ranges = Vec::new();
    let mut start: Option<u64> = None;
    // A row at `address` (end of sequence or not), as the range builder sees rows.
    let mut row = |address: u64, end: bool, start: &mut Option<u64>| {
        if end {
            if let Some(b) = start.take() {
                if b < address {
                    ranges.push((b, address));
                }
            }
        } else if start.is_none() {
            *start = Some(address);
        }
    };
    while let Some((&op, rest)) = p.split_first() {
        p = rest;
        if op == 0 {
            let len = usize::try_from(uleb(&mut p)?).ok()?;
            if len > p.len() {
                return None;
            }
            let (mut ext, rest) = p.split_at(len);
            p = rest;
            let (&sub, rest) = ext.split_first()?;
            ext = rest;
            match sub {
                1 => {
                    // DW_LNE_end_sequence: a row, then every register reset.
                    if !tombstone {
                        row(address, true, &mut start);
                    }
                    (address, op_index, tombstone) = (0, 0, false);
                }
                2 => {
                    // DW_LNE_set_address
                    let n = usize::from(h.address_size);
                    if ext.len() < n {
                        return None;
                    }
                    let a = read(&ext[..n]);
                    tombstone = a < address || a >= min_tombstone;
                    if !tombstone {
                        address = a;
                        op_index = 0;
                    }
                }
                3 if h.version <= 4 => {
                    // DW_LNE_define_file: a path and three ULEB128s, checked as gimli does.
                    let z = ext.iter().position(|&b| b == 0)?;
                    ext = &ext[z + 1..];
                    for _ in 0..3 {
                        uleb(&mut ext)?;
                    }
                }
                4 => {
                    uleb(&mut ext)?; // DW_LNE_set_discriminator
                }
                _ => {}
            }
        } else if op >= h.opcode_base {
            // Special opcode: advance, then a row.
            advance(
                &mut address,
                &mut op_index,
                tombstone,
                special[usize::from(op)],
            )?;
            if !tombstone {
                row(address, false, &mut start);
            }
        } else {
            match op {
                1 => {
                    if !tombstone {
                        row(address, false, &mut start); // DW_LNS_copy
                    }
                }
                2 => {
                    let ops = uleb(&mut p)?; // DW_LNS_advance_pc
                    advance(&mut address, &mut op_index, tombstone, ops)?;
                }
                3 => sleb(&mut p)?, // DW_LNS_advance_line
                4 | 5 | 12 => {
                    uleb(&mut p)?; // set_file, set_column, set_isa
                }
                6 | 7 | 10 | 11 => {} // flags
                8 => advance(&mut address, &mut op_index, tombstone, const_add)?,
                9 => {
                    // DW_LNS_fixed_advance_pc: a u16, no op_index scaling.
                    if p.len() < 2 {
                        return None;
                    }
                    let by = read(&p[..2]);
                    p = &p[2..];
                    if !tombstone {
                        let a = address.checked_add(by)?;
                        if a & !mask != 0 {
                            return None;
                        }
                        address = a;
                        op_index = 0;
                    }
                }
                _ => {
                    // Unknown standard opcode: skip the ULEB128 arguments the header declares.
                    let n = *h.standard_lengths.get(usize::from(op) - 1)?;
                    for _ in 0..n {
                        uleb(&mut p)?;
                    }
                }
            }
        }
    }
    Some(ranges)
}

impl<'a> DwarfIndex<'a> {
    /// Index `dwarf` (with its supplementary file already set, if any): unit headers and
    /// root entries only.
    pub fn new(dwarf: gimli::Dwarf<R<'a>>) -> gimli::Result<Self> {
        let mut aranges = Vec::new();
        let mut headers = dwarf.debug_aranges.headers();
        while let Some(h) = headers.next()? {
            aranges.push((h.debug_info_offset(), h.offset()));
        }
        aranges.sort_unstable_by_key(|a| a.0);

        let mut units: Vec<Slot<'a>> = Vec::new();
        let mut iter = dwarf.units();
        while let Some(header) = iter.next()? {
            let Some(offset) = header.debug_info_offset() else {
                continue;
            };
            if matches!(
                header.type_(),
                gimli::UnitType::Type { .. } | gimli::UnitType::SplitType { .. }
            ) {
                continue;
            }
            units.push(Slot::new(header, offset));
        }
        // Root entries in parallel (a big binary has thousands of units).
        let roots: Vec<Option<Root>> = units
            .par_iter()
            .with_min_len(64)
            .map(|s| {
                if s.header.type_() == gimli::UnitType::Partial {
                    // Only referred to by other units; no ranges of its own.
                    return None;
                }
                read_root(&dwarf, s.header, &aranges).ok()
            })
            .collect();
        let mut ranges = Vec::new();
        let mut line_units = Vec::new();
        for (i, (slot, root)) in units.iter_mut().zip(roots).enumerate() {
            let Some(root) = root else {
                // A unit whose root entry cannot be read is left out (as addr2line does).
                slot.broken = slot.header.type_() != gimli::UnitType::Partial;
                continue;
            };
            slot.lang = root.lang;
            ranges.extend(root.ranges.into_iter().map(|(b, e)| (b, e, i)));
            if let Some(p) = root.program {
                line_units.push((i, p));
            }
        }
        Ok(DwarfIndex {
            dwarf,
            units,
            ranges: Ranges::new(ranges),
            line_units,
            line_ranges: OnceLock::new(),
            range_cache: None,
            sup_units: OnceLock::new(),
        })
    }

    /// Keep the ranges read from the line programs of units that declare none in the cache
    /// folder `dir` (see [`super::section_cache`]), under the file's build id and size:
    /// scanning those programs is ~9 ms for the 147 such units of a Rust release binary on
    /// every run that samples code no unit declares (PLT stubs, assembly), and the ranges map
    /// back in microseconds. An entry that names a unit the file does not have, or an empty
    /// range, is not used.
    pub fn keep_ranges_in(&mut self, dir: &std::path::Path, build_id: &[u8], file_len: u64) {
        let mut key = b"lineranges".to_vec();
        key.extend_from_slice(build_id);
        self.range_cache = Some(super::section_cache::Derived::new(dir, key, file_len));
    }

    /// The line-program ranges from the cache, if kept and consistent with this file.
    fn cached_line_ranges(&self) -> Option<Vec<(u64, u64, usize)>> {
        let entry = self.range_cache.as_ref()?.load()?;
        let b = entry.get(0)?;
        if b.len() % 24 != 0 {
            return None;
        }
        let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        (0..b.len() / 24)
            .map(|i| {
                let (begin, end, unit) = (word(24 * i), word(24 * i + 8), word(24 * i + 16));
                let unit = usize::try_from(unit).ok()?;
                // `line_units` is in unit order.
                let declares_none = self.line_units.binary_search_by_key(&unit, |l| l.0).is_ok();
                (begin < end && declares_none).then_some((begin, end, unit))
            })
            .collect()
    }

    /// Work done ahead of lookups where there is time (see [`super::prefetch`]): the ranges of
    /// units that declare none, which the first address outside every declared range needs
    /// (PLT stubs and assembly make that nearly every profile of a Rust binary).
    pub fn warm(&self) {
        if !self.line_units.is_empty() {
            self.line_ranges();
        }
    }

    /// The ranges of units that declare none, from their line programs (read on first use).
    ///
    /// Sequential on purpose: this runs inside a `OnceLock` initializer reached from rayon
    /// jobs, and a parallel iterator here could make the initializing thread steal another
    /// lookup job that asks for the same cell (re-entrant initialization deadlocks).
    fn line_ranges(&self) -> &Ranges {
        self.line_ranges.get_or_init(|| {
            let t0 = std::time::Instant::now();
            if let Some(v) = self.cached_line_ranges() {
                crate::timing::report(
                    format_args!(
                        "  line ranges of {} units without declared ranges (cached)",
                        self.line_units.len()
                    ),
                    t0,
                );
                return Ranges::new(v);
            }
            let mut v = Vec::new();
            for (i, src) in &self.line_units {
                let r = sequence_ranges(&self.dwarf, &self.units[*i].header, *src);
                v.extend(r.unwrap_or_default().into_iter().map(|(b, e)| (b, e, *i)));
            }
            if let Some(entry) = &self.range_cache {
                let mut bytes = Vec::with_capacity(v.len() * 24);
                for &(b, e, u) in &v {
                    bytes.extend_from_slice(&b.to_le_bytes());
                    bytes.extend_from_slice(&e.to_le_bytes());
                    bytes.extend_from_slice(&(u as u64).to_le_bytes());
                }
                entry.store(&bytes);
            }
            crate::timing::report(
                format_args!(
                    "  line ranges of {} units without declared ranges",
                    self.line_units.len()
                ),
                t0,
            );
            Ranges::new(v)
        })
    }

    fn dwarf_of(&self, file: File) -> Option<&gimli::Dwarf<R<'a>>> {
        match file {
            File::Primary => Some(&self.dwarf),
            File::Sup => self.dwarf.sup.as_deref(),
        }
    }

    fn slots(&self, file: File) -> &[Slot<'a>] {
        match file {
            File::Primary => &self.units,
            File::Sup => self.sup_units.get_or_init(|| {
                let mut v = Vec::new();
                if let Some(sup) = self.dwarf.sup.as_deref() {
                    let mut iter = sup.units();
                    while let Ok(Some(h)) = iter.next() {
                        if let Some(o) = h.debug_info_offset() {
                            v.push(Slot::new(h, o));
                        }
                    }
                }
                v
            }),
        }
    }

    /// The unit holding `.debug_info` offset `off` in `file`, and the entry's offset in it.
    fn find_unit(
        &self,
        file: File,
        off: gimli::DebugInfoOffset,
    ) -> Option<(&Unit<'a>, UnitOffset)> {
        let slots = self.slots(file);
        let i = slots.partition_point(|s| s.offset.0 < off.0);
        // An entry is never at a unit's own offset (that is its header).
        if slots.get(i).is_some_and(|s| s.offset == off) || i == 0 {
            return None;
        }
        let slot = &slots[i - 1];
        if slot.broken {
            return None;
        }
        let unit = slot.unit(self.dwarf_of(file)?)?;
        let uo = off.to_unit_offset(&unit.header)?;
        Some((unit, uo))
    }

    /// The unit whose declared ranges hold `probe` first (the one a lookup parses), to group
    /// lookups by unit.
    pub fn unit_of(&self, probe: u64) -> Option<usize> {
        self.ranges.covering(probe).next()
    }

    /// The frames for `probe` (a virtual address of the file), innermost first; empty when
    /// DWARF does not cover it.
    ///
    /// `with_lines`: file, line and column from the line table; false: names and inline
    /// frames only (file None, line and column 0), which skips most line tables.
    pub fn find_frames(&self, probe: u64, with_lines: bool) -> Vec<DwarfFrame<'_>> {
        // Units declaring no ranges are only consulted when no declared range has the
        // address (addr2line merges both into one list; they differ only where a unit's
        // line program covers code another unit declares).
        for u in self.ranges.covering(probe) {
            match self.frames_in_unit(u, probe, with_lines) {
                Ok(Some(frames)) => return frames,
                Ok(None) => continue,
                Err(()) => return Vec::new(),
            }
        }
        if self.line_units.is_empty() {
            return Vec::new();
        }
        for u in self.line_ranges().covering(probe) {
            match self.frames_in_unit(u, probe, with_lines) {
                Ok(Some(frames)) => return frames,
                Ok(None) => continue,
                Err(()) => return Vec::new(),
            }
        }
        Vec::new()
    }

    /// Frames for `probe` from one unit: None when the unit has neither a function nor a
    /// line for it (the next unit covering it is tried).
    #[allow(clippy::type_complexity)]
    fn frames_in_unit(
        &self,
        u: usize,
        probe: u64,
        with_lines: bool,
    ) -> Result<Option<Vec<DwarfFrame<'_>>>, ()> {
        let slot = &self.units[u];
        let unit = slot.unit(&self.dwarf).ok_or(())?;
        let uref = gimli::UnitRef::new(&self.dwarf, unit);
        let functions = slot
            .functions
            .get_or_init(|| Functions::parse(uref).ok().map(Box::new))
            .as_deref()
            .ok_or(())?;
        let function = match functions.find(probe) {
            Some(f) => Some(
                functions.functions[f]
                    .1
                    .get_or_init(|| Function::parse(self, uref, functions.functions[f].0).ok())
                    .as_ref()
                    .ok_or(())?,
            ),
            None => None,
        };
        // Without `with_lines` the line table is still read for an address no function
        // covers: whether it has a row decides, as with lines, if this unit answers.
        let lines = if with_lines || function.is_none() {
            slot.lines(&self.dwarf)
        } else {
            None
        };
        let location = lines.and_then(|l| l.find(probe).map(|row| (l, row)));
        let language = slot.lang;
        let (mut file, mut line, mut column) = match location {
            Some((l, row)) => (
                l.file(uref, row.file),
                row.line,
                if row.line != 0 { row.column } else { 0 },
            ),
            None => (None, 0, 0),
        };
        let Some(function) = function else {
            return Ok(location.map(|_| {
                vec![DwarfFrame {
                    name: None,
                    language,
                    file,
                    line,
                    column,
                }]
            }));
        };
        let mut frames = Vec::new();
        for inl in function.inlined_at(probe).into_iter().rev() {
            frames.push(DwarfFrame {
                name: *inl.name.get_or_init(|| inl.source.resolve(self, uref)),
                language,
                file,
                line,
                column,
            });
            file = inl
                .call_file
                .and_then(|f| lines.and_then(|l| l.file(uref, f)));
            (line, column) = if with_lines {
                (inl.call_line, inl.call_column)
            } else {
                (0, 0)
            };
        }
        frames.push(DwarfFrame {
            name: function.name,
            language,
            file,
            line,
            column,
        });
        Ok(Some(frames))
    }

    /// The name of the entry an `abstract_origin` / `specification` value refers to.
    fn name_of(
        &self,
        file: File,
        unit: gimli::UnitRef<'_, R<'a>>,
        value: AttributeValue<R<'a>>,
        depth: usize,
    ) -> Option<&'a [u8]> {
        if depth == 0 {
            return None;
        }
        match value {
            AttributeValue::UnitRef(o) => self.entry_name(file, unit, o, depth),
            AttributeValue::DebugInfoRef(dr) => {
                let (u, o) = self.find_unit(file, dr)?;
                let d = self.dwarf_of(file)?;
                self.entry_name(file, gimli::UnitRef::new(d, u), o, depth)
            }
            AttributeValue::DebugInfoRefSup(dr) => {
                let d = self.dwarf.sup.as_deref()?;
                let (u, o) = self.find_unit(File::Sup, dr)?;
                self.entry_name(File::Sup, gimli::UnitRef::new(d, u), o, depth)
            }
            _ => None,
        }
    }

    fn entry_name(
        &self,
        file: File,
        unit: gimli::UnitRef<'_, R<'a>>,
        offset: UnitOffset,
        depth: usize,
    ) -> Option<&'a [u8]> {
        let mut entries = unit.entries_raw(Some(offset)).ok()?;
        let abbrev = entries.read_abbreviation().ok()??;
        let mut name = None;
        let mut next = None;
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec).ok()?;
            match attr.name() {
                gimli::DW_AT_linkage_name | gimli::DW_AT_MIPS_linkage_name => {
                    if let Ok(s) = unit.attr_string(attr.value()) {
                        return Some(s.slice());
                    }
                }
                gimli::DW_AT_name => {
                    if let Ok(s) = unit.attr_string(attr.value()) {
                        name = Some(s.slice());
                    }
                }
                gimli::DW_AT_abstract_origin | gimli::DW_AT_specification => {
                    next = Some(attr.value());
                }
                _ => {}
            }
        }
        if name.is_some() {
            return name;
        }
        self.name_of(file, unit, next?, depth - 1)
    }
}

/// Abbreviation codes up to this get a size cache slot in [`Functions::parse`].
const MAX_CACHED_ABBREV: usize = 1 << 16;

/// Byte size of an entry's attributes when every form of its abbreviation has a fixed size.
fn fixed_entry_size(abbrev: &gimli::Abbreviation, encoding: gimli::Encoding) -> Option<usize> {
    abbrev.attributes().iter().try_fold(0usize, |n, spec| {
        Some(n + fixed_form_size(spec.form(), encoding)?)
    })
}

/// Byte size of an attribute value of `form` where the form and encoding alone fix it (as
/// gimli reads them); None for variable-size forms (LEB128, strings, blocks, indirect).
#[allow(non_upper_case_globals)]
fn fixed_form_size(form: gimli::DwForm, encoding: gimli::Encoding) -> Option<usize> {
    use gimli::constants::*;
    let offset = usize::from(encoding.format.word_size());
    let address = usize::from(encoding.address_size);
    Some(match form {
        DW_FORM_flag_present | DW_FORM_implicit_const => 0,
        DW_FORM_data1 | DW_FORM_ref1 | DW_FORM_flag | DW_FORM_strx1 | DW_FORM_addrx1 => 1,
        DW_FORM_data2 | DW_FORM_ref2 | DW_FORM_strx2 | DW_FORM_addrx2 => 2,
        DW_FORM_strx3 | DW_FORM_addrx3 => 3,
        DW_FORM_data4 | DW_FORM_ref4 | DW_FORM_ref_sup4 | DW_FORM_strx4 | DW_FORM_addrx4 => 4,
        DW_FORM_data8 | DW_FORM_ref8 | DW_FORM_ref_sig8 | DW_FORM_ref_sup8 => 8,
        DW_FORM_data16 => 16,
        DW_FORM_addr => address,
        DW_FORM_ref_addr if encoding.version <= 2 => address,
        DW_FORM_ref_addr | DW_FORM_strp | DW_FORM_sec_offset | DW_FORM_line_strp
        | DW_FORM_strp_sup | DW_FORM_GNU_ref_alt | DW_FORM_GNU_strp_alt => offset,
        _ => return None,
    })
}

/// The `DW_TAG_subprogram`s of a unit with addresses, and their ranges sorted by start.
struct Functions<'a> {
    functions: Vec<(UnitOffset, OnceLock<Option<Function<'a>>>)>,
    addresses: Vec<(u64, u64, usize)>,
}

impl<'a> Functions<'a> {
    /// Every entry of the unit is visited, but only subprograms are decoded: the others
    /// (most of a Rust unit is types, members and template parameters) are skipped by the
    /// byte size of their abbreviation when all its forms have a fixed size, computed once per
    /// abbreviation, instead of form by form.
    fn parse(unit: gimli::UnitRef<'_, R<'a>>) -> gimli::Result<Self> {
        let mut functions = Vec::new();
        let mut addresses = Vec::new();
        let root = unit.header.root_offset();
        let start = unit.header.range_from(root..)?;
        let mut input = start;
        let encoding = unit.header.encoding();
        // Per abbreviation code (dense from 1 in practice): its fixed size, or a mark.
        const UNKNOWN: u32 = u32::MAX;
        const VARIABLE: u32 = u32::MAX - 1;
        let mut sizes: Vec<u32> = Vec::new();
        while !input.is_empty() {
            let die = root.0 + gimli::Reader::offset_from(&input, &start);
            let code = input.read_uleb128()?;
            if code == 0 {
                continue;
            }
            let abbrev = unit
                .abbreviations
                .get(code)
                .ok_or(gimli::Error::InvalidAbbreviationCode(code))?;
            if abbrev.tag() != gimli::DW_TAG_subprogram {
                let cached = usize::try_from(code)
                    .ok()
                    .filter(|&c| c <= MAX_CACHED_ABBREV)
                    .map(|c| {
                        if sizes.len() <= c {
                            sizes.resize(c + 1, UNKNOWN);
                        }
                        if sizes[c] == UNKNOWN {
                            sizes[c] = fixed_entry_size(abbrev, encoding)
                                .and_then(|n| u32::try_from(n).ok())
                                .filter(|&n| n < VARIABLE)
                                .unwrap_or(VARIABLE);
                        }
                        sizes[c]
                    })
                    .unwrap_or(VARIABLE);
                if cached != VARIABLE {
                    input.skip(cached as usize)?;
                } else {
                    let mut entries = unit.entries_raw(Some(UnitOffset(die)))?;
                    if let Some(a) = entries.read_abbreviation()? {
                        entries.skip_attributes(a.attributes())?;
                    }
                    input = unit.header.range_from(entries.next_offset()..)?;
                }
                continue;
            }
            let mut entries = unit.entries_raw(Some(UnitOffset(die)))?;
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            let mut ra = RangeAttrs::default();
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                ra.read(unit, &attr);
            }
            input = unit.header.range_from(entries.next_offset()..)?;
            let index = functions.len();
            if ra.for_each(unit, |b, e| addresses.push((b, e, index)))? {
                functions.push((UnitOffset(die), OnceLock::new()));
            }
        }
        addresses.sort_unstable_by_key(|a| a.0);
        Ok(Functions {
            functions,
            addresses,
        })
    }

    fn find(&self, probe: u64) -> Option<usize> {
        self.addresses
            .binary_search_by(|&(b, e, _)| {
                if probe < b {
                    Ordering::Greater
                } else if probe >= e {
                    Ordering::Less
                } else {
                    Ordering::Equal
                }
            })
            .ok()
            .map(|i| self.addresses[i].2)
    }
}

/// A subprogram's name and its inlined-subroutine tree.
struct Function<'a> {
    name: Option<&'a [u8]>,
    inlined: Vec<Inlined<'a>>,
    /// (begin, end, depth, index into `inlined`), sorted by depth, then begin.
    inlined_ranges: Vec<(u64, u64, usize, usize)>,
}

struct Inlined<'a> {
    /// The name, resolved on first use: most inlined subroutines of a function are never in
    /// a looked-up stack, and resolving one follows its abstract origin to another entry.
    name: OnceLock<Option<&'a [u8]>>,
    source: NameSource<'a>,
    call_file: Option<u64>,
    call_line: u32,
    call_column: u32,
}

/// An entry's name attributes, resolved (at once for a subprogram, on first use for an inlined
/// subroutine) as reading them in order gives: a linkage name wins; otherwise the first of
/// `DW_AT_name` and the abstract origin's (or specification's) name that resolves.
#[derive(Default)]
struct NameSource<'a> {
    linkage: Option<&'a [u8]>,
    candidates: [Option<NameCandidate<'a>>; 2],
}

enum NameCandidate<'a> {
    Name(&'a [u8]),
    Origin(AttributeValue<R<'a>>),
}

impl<'a> NameSource<'a> {
    fn read(&mut self, unit: gimli::UnitRef<'_, R<'a>>, attr: &gimli::Attribute<R<'a>>) {
        let candidate = match attr.name() {
            gimli::DW_AT_linkage_name | gimli::DW_AT_MIPS_linkage_name => {
                if let Ok(s) = unit.attr_string(attr.value()) {
                    self.linkage = Some(s.slice());
                }
                return;
            }
            gimli::DW_AT_name => match unit.attr_string(attr.value()) {
                Ok(s) => NameCandidate::Name(s.slice()),
                Err(_) => return,
            },
            gimli::DW_AT_abstract_origin | gimli::DW_AT_specification => {
                NameCandidate::Origin(attr.value())
            }
            _ => return,
        };
        if let Some(slot) = self.candidates.iter_mut().find(|c| c.is_none()) {
            *slot = Some(candidate);
        }
    }

    fn resolve(&self, index: &DwarfIndex<'a>, unit: gimli::UnitRef<'_, R<'a>>) -> Option<&'a [u8]> {
        if self.linkage.is_some() {
            return self.linkage;
        }
        self.candidates.iter().flatten().find_map(|c| match c {
            NameCandidate::Name(n) => Some(*n),
            NameCandidate::Origin(v) => index.name_of(File::Primary, unit, *v, NAME_DEPTH),
        })
    }
}

impl<'a> Function<'a> {
    fn parse(
        index: &DwarfIndex<'a>,
        unit: gimli::UnitRef<'_, R<'a>>,
        offset: UnitOffset,
    ) -> gimli::Result<Self> {
        let mut entries = unit.entries_raw(Some(offset))?;
        let depth = entries.next_depth();
        let abbrev = entries
            .read_abbreviation()?
            .ok_or(gimli::Error::NoEntryAtGivenOffset(offset.0 as u64))?;
        let mut source = NameSource::default();
        for spec in abbrev.attributes() {
            source.read(unit, &entries.read_attribute(*spec)?);
        }
        let mut f = Function {
            name: source.resolve(index, unit),
            inlined: Vec::new(),
            inlined_ranges: Vec::new(),
        };
        f.children(unit, &mut entries, depth, 0)?;
        f.inlined_ranges.sort_unstable_by_key(|r| (r.2, r.0));
        Ok(f)
    }

    /// Walk the entries below `depth`: nested subprograms are skipped, inlined subroutines
    /// recorded with their call depth.
    fn children(
        &mut self,
        unit: gimli::UnitRef<'_, R<'a>>,
        entries: &mut gimli::EntriesRaw<'_, R<'a>>,
        depth: isize,
        inline_depth: usize,
    ) -> gimli::Result<()> {
        loop {
            let next = entries.next_depth();
            if next <= depth {
                return Ok(());
            }
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            let tag = abbrev.tag();
            // Nested subprograms are not part of this function's code; inline trees deeper
            // than any compiler emits (a crafted file) are cut rather than recursed into
            // without bound.
            let too_deep =
                tag == gimli::DW_TAG_inlined_subroutine && inline_depth >= MAX_INLINE_DEPTH;
            match tag {
                _ if tag == gimli::DW_TAG_subprogram || too_deep => {
                    entries.skip_attributes(abbrev.attributes())?;
                    while entries.next_depth() > next {
                        if let Some(a) = entries.read_abbreviation()? {
                            entries.skip_attributes(a.attributes())?;
                        }
                    }
                }
                gimli::DW_TAG_inlined_subroutine => {
                    let mut ra = RangeAttrs::default();
                    let mut source = NameSource::default();
                    let mut call_file = None;
                    let mut call_line = 0;
                    let mut call_column = 0;
                    for spec in abbrev.attributes() {
                        let attr = entries.read_attribute(*spec)?;
                        if ra.read(unit, &attr) {
                            continue;
                        }
                        match attr.name() {
                            gimli::DW_AT_call_file => {
                                // DWARF 5 numbers files from 0; before, 0 meant none.
                                if let AttributeValue::FileIndex(fi) = attr.value() {
                                    if fi > 0 || unit.header.version() >= 5 {
                                        call_file = Some(fi);
                                    }
                                }
                            }
                            gimli::DW_AT_call_line => {
                                call_line = attr.udata_value().unwrap_or(0) as u32;
                            }
                            gimli::DW_AT_call_column => {
                                call_column = attr.udata_value().unwrap_or(0) as u32;
                            }
                            _ => source.read(unit, &attr),
                        }
                    }
                    let i = self.inlined.len();
                    self.inlined.push(Inlined {
                        name: OnceLock::new(),
                        source,
                        call_file,
                        call_line,
                        call_column,
                    });
                    let ranges = &mut self.inlined_ranges;
                    ra.for_each(unit, |b, e| ranges.push((b, e, inline_depth, i)))?;
                    self.children(unit, entries, next, inline_depth + 1)?;
                }
                _ => entries.skip_attributes(abbrev.attributes())?,
            }
        }
    }

    /// The inlined subroutines holding `probe`, outermost first.
    fn inlined_at(&self, probe: u64) -> Vec<&Inlined<'a>> {
        let mut out = Vec::new();
        let mut rest = &self.inlined_ranges[..];
        loop {
            let d = out.len();
            let found = rest.binary_search_by(|&(b, e, depth, _)| {
                depth.cmp(&d).then(if b > probe {
                    Ordering::Greater
                } else if e <= probe {
                    Ordering::Less
                } else {
                    Ordering::Equal
                })
            });
            let Ok(i) = found else {
                return out;
            };
            out.push(&self.inlined[rest[i].3]);
            rest = &rest[i + 1..];
        }
    }
}

struct LineRow {
    address: u64,
    file: u64,
    line: u32,
    column: u32,
}

/// A sequence: `[start, end)` and its rows, a range of [`Lines::rows`].
struct Sequence {
    start: u64,
    end: u64,
    rows: std::ops::Range<usize>,
}

/// A unit's line table; file names are rendered when first asked for.
struct Lines<'a> {
    /// Every row of every sequence, one allocation per unit (Rust units hold thousands of
    /// one-function sequences).
    rows: Box<[LineRow]>,
    sequences: Box<[Sequence]>,
    header: gimli::LineProgramHeader<R<'a>>,
    files: Box<[OnceLock<Option<String>>]>,
}

impl<'a> Lines<'a> {
    fn parse(unit: &Unit<'a>) -> Option<Self> {
        let program = unit.line_program.clone()?;
        let mut rows = program.rows();
        let mut sequences = Vec::new();
        let mut all: Vec<LineRow> = Vec::new();
        let mut first = 0;
        while let Some((_, row)) = rows.next_row().ok()? {
            if row.end_sequence() {
                if let Some(start) = all.get(first).map(|r| r.address) {
                    let end = row.address();
                    if start < end {
                        sequences.push(Sequence {
                            start,
                            end,
                            rows: first..all.len(),
                        });
                    } else {
                        all.truncate(first);
                    }
                }
                first = all.len();
                continue;
            }
            let address = row.address();
            let file = row.file_index();
            let line = row.line().map(|l| l.get()).unwrap_or(0) as u32;
            let column = match row.column() {
                gimli::ColumnType::LeftEdge => 0,
                gimli::ColumnType::Column(c) => c.get() as u32,
            };
            let new = LineRow {
                address,
                file,
                line,
                column,
            };
            let in_sequence = all.len() > first;
            match all.last_mut() {
                Some(last) if in_sequence && last.address == address => *last = new,
                _ => all.push(new),
            }
        }
        sequences.sort_unstable_by_key(|s| s.start);
        let header = rows.header().clone();
        let mut n = 1;
        while header.file(n).is_some() {
            n += 1;
        }
        Some(Lines {
            rows: all.into_boxed_slice(),
            sequences: sequences.into_boxed_slice(),
            header,
            files: (0..n).map(|_| OnceLock::new()).collect(),
        })
    }

    fn find(&self, probe: u64) -> Option<&LineRow> {
        let s = self
            .sequences
            .binary_search_by(|s| {
                if probe < s.start {
                    Ordering::Greater
                } else if probe >= s.end {
                    Ordering::Less
                } else {
                    Ordering::Equal
                }
            })
            .ok()?;
        let rows = &self.rows[self.sequences[s].rows.clone()];
        match rows.binary_search_by(|r| r.address.cmp(&probe)) {
            Ok(i) => Some(&rows[i]),
            Err(0) => None,
            Err(i) => Some(&rows[i - 1]),
        }
    }

    /// The path of file `index`: the unit's directory, the file's directory and its name
    /// joined (an absolute part replaces what came before). Index 0 is "" where the table
    /// has no entry 0 (DWARF 4 and older).
    fn file(&self, unit: gimli::UnitRef<'_, R<'a>>, index: u64) -> Option<&str> {
        let cell = self.files.get(usize::try_from(index).ok()?)?;
        cell.get_or_init(|| {
            let Some(file) = self.header.file(index) else {
                return (index == 0).then(String::new);
            };
            let mut path = match unit.comp_dir {
                Some(d) => d.to_string_lossy().into_owned(),
                None => String::new(),
            };
            if file.directory_index() != 0 {
                if let Some(dir) = file.directory(&self.header) {
                    push_path(&mut path, &unit.attr_string(dir).ok()?.to_string_lossy());
                }
            }
            push_path(
                &mut path,
                &unit.attr_string(file.path_name()).ok()?.to_string_lossy(),
            );
            Some(path)
        })
        .as_deref()
    }
}

fn is_absolute(p: &str) -> bool {
    p.starts_with('/') || p.starts_with('\\') || matches!(p.get(1..3), Some(":/" | ":\\"))
}

fn push_path(path: &mut String, part: &str) {
    if is_absolute(part) {
        *path = part.to_string();
        return;
    }
    let windows = path.starts_with('\\') || path.get(1..3) == Some(":\\");
    let sep = if windows { '\\' } else { '/' };
    if !path.is_empty() && !path.ends_with(sep) {
        path.push(sep);
    }
    path.push_str(part);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbolize::elf::ElfImage;

    /// Sequence ranges the slow way: gimli's row iterator (what `scan_sequences` replaced).
    fn by_rows(
        dwarf: &gimli::Dwarf<R<'_>>,
        header: &UnitHeader<'_>,
        unit: &Unit<'_>,
    ) -> Option<Vec<(u64, u64)>> {
        let off = unit.line_program.as_ref()?.header().offset();
        let program = dwarf
            .debug_line
            .program(off, header.address_size(), unit.comp_dir, unit.name)
            .ok()?;
        let mut rows = program.rows();
        let mut ranges = Vec::new();
        let mut start = None;
        while let Some((_, row)) = rows.next_row().ok()? {
            if row.end_sequence() {
                if let Some(b) = start.take() {
                    if b < row.address() {
                        ranges.push((b, row.address()));
                    }
                }
            } else if start.is_none() {
                start = Some(row.address());
            }
        }
        Some(ranges)
    }

    /// Every unit's line program in `path`: the scanner's ranges equal the row iterator's.
    fn scanner_matches_rows(path: &std::path::Path) -> (usize, usize) {
        let image = ElfImage::open(path).unwrap();
        let dwarf = image.dwarf();
        let (mut programs, mut sequences) = (0, 0);
        let mut units = dwarf.units();
        while let Ok(Some(header)) = units.next() {
            let Ok(unit) = dwarf.unit(header) else {
                continue;
            };
            let Some(lp) = &unit.line_program else {
                continue;
            };
            let want = by_rows(&dwarf, &header, &unit);
            let got = sequence_ranges(&dwarf, &header, lp.header().offset());
            assert_eq!(
                got,
                want,
                "{}: unit at {:?}",
                path.display(),
                header.offset()
            );
            programs += 1;
            sequences += want.map_or(0, |w| w.len());
        }
        (programs, sequences)
    }

    #[test]
    fn sequence_scanner_matches_gimli_rows() {
        // This test binary: Rust units (and C from dependencies), thousands of sequences.
        let exe = std::env::current_exe().unwrap();
        let (p, s) = scanner_matches_rows(&exe);
        assert!(p > 100 && s > 1000, "{p} programs, {s} sequences");
        // A C library's debug file (DWARF 5, compressed), where installed.
        let libc = std::path::Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6");
        let debug = ElfImage::open(libc)
            .ok()
            .and_then(|i| i.build_id.clone())
            .map(|id| {
                let h = crate::symbolize::elf::hex(&id);
                std::path::PathBuf::from(format!(
                    "/usr/lib/debug/.build-id/{}/{}.debug",
                    &h[..2],
                    &h[2..]
                ))
            })
            .filter(|p| p.exists());
        match debug {
            Some(d) => {
                let (p, s) = scanner_matches_rows(&d);
                assert!(p > 100 && s > 1000, "{p} programs, {s} sequences");
            }
            None => {
                eprintln_safe!(
                    "notice: libc debug file not installed; scanner checked on Rust only"
                )
            }
        }
    }

    #[test]
    fn cached_line_ranges_answer_as_scanned_ones() {
        // This test binary has units declaring no ranges (std's assembly, compiler-builtins);
        // the ranges read back from the cache must be the scanned ones, and lookups must give
        // the same frames, with the ranges scanned, stored, mapped back, and a damaged entry.
        let exe = std::env::current_exe().unwrap();
        let image = ElfImage::open(&exe).unwrap();
        let id = image.build_id.clone().expect("a build id");
        let dir = std::env::temp_dir().join(format!("profdiff-lineranges-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let plain = DwarfIndex::new(image.dwarf()).unwrap();
        if plain.line_units.is_empty() {
            eprintln_safe!("notice: no unit without declared ranges here; nothing to cache");
            return;
        }
        let scanned: Vec<(u64, u64, usize)> = plain
            .line_ranges()
            .0
            .iter()
            .map(|r| (r.begin, r.end, r.unit))
            .collect();
        // Addresses in those ranges (most are also in a declared range: the lookup tries those
        // first, and the line-program ranges where none answers).
        let probes: Vec<u64> = scanned
            .iter()
            .step_by(scanned.len() / 100 + 1)
            .flat_map(|r| [r.0, (r.0 + r.1) / 2, r.1 - 1])
            .collect();
        let frames = |index: &DwarfIndex<'_>| -> Vec<Vec<(Option<Vec<u8>>, u32)>> {
            probes
                .iter()
                .map(|&a| {
                    index
                        .find_frames(a, true)
                        .iter()
                        .map(|f| (f.name.map(|n| n.to_vec()), f.line))
                        .collect()
                })
                .collect()
        };
        let want = frames(&plain);
        assert!(want.iter().any(|f| !f.is_empty()));
        let cached = |expect_hit: bool| {
            let mut index = DwarfIndex::new(image.dwarf()).unwrap();
            index.keep_ranges_in(&dir, &id, image.file_len());
            assert_eq!(index.cached_line_ranges().is_some(), expect_hit);
            assert!(frames(&index) == want);
            let mut got: Vec<(u64, u64, usize)> = index
                .line_ranges()
                .0
                .iter()
                .map(|r| (r.begin, r.end, r.unit))
                .collect();
            got.sort_unstable();
            let mut s = scanned.clone();
            s.sort_unstable();
            assert_eq!(got, s);
        };
        // Scanned and stored, then mapped back.
        cached(false);
        cached(true);
        // An entry naming a unit that declares ranges is not used (and is replaced).
        let entry = crate::symbolize::section_cache::only_entry(&dir);
        let mut bytes = std::fs::read(&entry).unwrap();
        let n = bytes.len();
        let declared = (0..plain.units.len())
            .find(|u| plain.line_units.iter().all(|(l, _)| l != u))
            .unwrap();
        bytes[n - 8..].copy_from_slice(&(declared as u64).to_le_bytes());
        std::fs::write(&entry, &bytes).unwrap();
        cached(false);
        cached(true);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
