//! A decoder for the part of Python's `marshal` format that pstats files use: dicts, tuples,
//! ints, floats, strings, None, booleans, back-references, and the code objects (with the
//! constants inside them: lists, sets, complex numbers, Ellipsis, slices) that the pure-Python
//! `profile` module leaves in its keys. No Rust crate on crates.io decodes marshal data and is
//! kept up; this one is written for hostile input: nesting is bounded, every length is checked
//! against the bytes left before anything is allocated, and every failure is an error naming
//! the offset and what was wrong.
//!
//! A code object's layout changed with Python versions and the data does not say which wrote
//! it, so the first code object is read with each known layout in turn (newest first) until
//! one reads cleanly and has the right types in the right places; later ones use that layout.

use std::rc::Rc;

/// Deepest nesting accepted (pstats needs 4: dict, tuple, dict, tuple).
const MAX_DEPTH: usize = 64;
/// The flag on a type byte asking the decoder to remember the object for `r` references.
const FLAG_REF: u8 = 0x80;

/// A decoded object.
#[derive(Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Rc<Value>>),
    Dict(Vec<Pair>),
    /// A code object: only what names it is kept.
    Code {
        name: String,
        filename: String,
        line: i64,
    },
    /// Any other constant (a list, set, complex number, Ellipsis, slice …): not used by pstats.
    Other(&'static str),
}

/// A dict's key and value.
pub type Pair = (Rc<Value>, Rc<Value>);

impl Value {
    /// A string's text; Python 2's byte strings are read as UTF-8 (lossily).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Code { .. } => "code object",
            Value::Other(kind) => kind,
        }
    }
}

/// Decode one object from the start of `data`; bytes after it are an error.
pub fn decode(data: &[u8]) -> Result<Rc<Value>, String> {
    let mut d = Decoder {
        data,
        pos: 0,
        refs: Vec::new(),
        code_layout: None,
    };
    let v = d.object(0)?;
    if d.pos != data.len() {
        return Err(format!(
            "{} bytes after the marshal object",
            data.len() - d.pos
        ));
    }
    Ok(v)
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    /// Objects flagged for reference; None while a container is still being read.
    refs: Vec<Option<Rc<Value>>>,
    /// The code object layout of this file, once one has been read.
    code_layout: Option<&'static CodeLayout>,
}

/// How a Python version marshals a code object: `ints` 4-byte fields, then `objects` objects
/// (the bytecode first), then the first line number, then `after` more objects.
struct CodeLayout {
    python: &'static str,
    ints: usize,
    objects: usize,
    filename: usize,
    name: usize,
    after: usize,
    /// Indices among `objects` that must be bytes (besides the bytecode) and tuples.
    bytes: &'static [usize],
    tuples: &'static [usize],
}

/// The layout of Python 2 to 3.10, which differ only in how many counts lead.
const fn before_3_11(python: &'static str, ints: usize) -> CodeLayout {
    CodeLayout {
        python,
        ints,
        objects: 8,
        filename: 6,
        name: 7,
        after: 1,
        bytes: &[],
        tuples: &[1, 3, 4, 5],
    }
}

const CODE_LAYOUTS: [CodeLayout; 4] = [
    // argcount posonlyargcount kwonlyargcount stacksize flags; code consts names
    // localsplusnames localspluskinds filename name qualname; firstlineno; linetable
    // exceptiontable.
    CodeLayout {
        python: "3.11+",
        ints: 5,
        objects: 8,
        filename: 5,
        name: 6,
        after: 2,
        bytes: &[4],
        tuples: &[1, 3],
    },
    // argcount posonlyargcount kwonlyargcount nlocals stacksize flags; code consts names
    // varnames freevars cellvars filename name; firstlineno; lnotab or linetable.
    before_3_11("3.8-3.10", 6),
    // As 3.8 without posonlyargcount.
    before_3_11("3.0-3.7", 5),
    // As 3.0 without kwonlyargcount.
    before_3_11("2", 4),
];

impl Decoder<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], String> {
        let left = self.data.len() - self.pos;
        if n > left {
            return Err(format!(
                "truncated at offset {}: {what} needs {n} bytes, {left} left",
                self.pos
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &str) -> Result<i32, String> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 4-byte length, checked against the bytes left (each item takes `min_item` bytes).
    fn len(&mut self, what: &str, min_item: usize) -> Result<usize, String> {
        let at = self.pos;
        let n = self.i32(what)?;
        let left = self.data.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(min_item) <= left => Ok(n),
            _ => Err(format!(
                "{what} at offset {at} declares length {n}, more than the {left} bytes left"
            )),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Rc<Value>, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "objects nested deeper than {MAX_DEPTH} at offset {}",
                self.pos
            ));
        }
        let at = self.pos;
        let code = self.u8("a type byte")?;
        let (kind, flagged) = (code & !FLAG_REF, code & FLAG_REF != 0);
        if kind == b'r' {
            let i = self.i32("a reference")?;
            return usize::try_from(i)
                .ok()
                .and_then(|i| self.refs.get(i).cloned().flatten())
                .ok_or_else(|| format!("reference {i} at offset {at} names no earlier object"));
        }
        let slot = flagged.then(|| {
            self.refs.push(None);
            self.refs.len() - 1
        });
        let v = Rc::new(self.body(kind, at, depth)?);
        if let Some(s) = slot {
            self.refs[s] = Some(v.clone());
        }
        Ok(v)
    }

    fn body(&mut self, kind: u8, at: usize, depth: usize) -> Result<Value, String> {
        Ok(match kind {
            b'N' => Value::None,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' => Value::Int(self.i32("an int")? as i64),
            b'l' => Value::Int(self.long(at)?),
            b'g' => {
                let b = self.take(8, "a float")?;
                Value::Float(f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            }
            b'z' | b'Z' => {
                let n = self.u8("a string length")? as usize;
                Value::Str(self.text(n, at)?)
            }
            b'a' | b'A' | b'u' | b't' => {
                let n = self.len("a string", 1)?;
                Value::Str(self.text(n, at)?)
            }
            b's' => {
                let n = self.len("a bytes object", 1)?;
                Value::Bytes(self.take(n, "a bytes object")?.to_vec())
            }
            b')' => {
                let n = self.u8("a tuple length")? as usize;
                Value::Tuple(self.items(n, depth)?)
            }
            b'(' => {
                let n = self.len("a tuple", 1)?;
                Value::Tuple(self.items(n, depth)?)
            }
            b'{' => Value::Dict(self.dict(depth)?),
            b'[' | b'<' | b'>' => {
                let n = self.len("a list or set", 1)?;
                self.items(n, depth)?;
                Value::Other("list or set")
            }
            b'I' => Value::Int(i64::from_le_bytes(
                self.take(8, "an int64")?.try_into().unwrap_or([0; 8]),
            )),
            b'f' => Value::Float(self.text_float(at)?),
            b'x' => {
                self.text_float(at)?;
                self.text_float(at)?;
                Value::Other("complex")
            }
            b'y' => {
                self.take(16, "a complex")?;
                Value::Other("complex")
            }
            b'S' => Value::Other("StopIteration"),
            b'.' => Value::Other("Ellipsis"),
            b':' => {
                self.items(3, depth)?;
                Value::Other("slice")
            }
            b'c' => self.code(at, depth)?,
            _ => {
                return Err(format!(
                    "unsupported marshal type {:?} (0x{kind:02x}) at offset {at}",
                    kind as char
                ))
            }
        })
    }

    /// A float written as text (marshal version 0 and 1): a length byte, then digits.
    fn text_float(&mut self, at: usize) -> Result<f64, String> {
        let n = self.u8("a float length")? as usize;
        let s = self.text(n, at)?;
        s.trim()
            .parse()
            .map_err(|_| format!("float {s:?} at offset {at} is not a number"))
    }

    /// A code object, in this file's layout; the first one found decides the layout.
    fn code(&mut self, at: usize, depth: usize) -> Result<Value, String> {
        if let Some(layout) = self.code_layout {
            return self.code_as(layout, at, depth);
        }
        let (pos, refs) = (self.pos, self.refs.len());
        for layout in &CODE_LAYOUTS {
            self.code_layout = Some(layout);
            match self.code_as(layout, at, depth) {
                Ok(v) => return Ok(v),
                Err(_) => {
                    self.pos = pos;
                    self.refs.truncate(refs);
                }
            }
        }
        self.code_layout = None;
        Err(format!(
            "code object at offset {at} is in no known Python layout ({})",
            CODE_LAYOUTS.map(|l| l.python).join(", ")
        ))
    }

    fn code_as(&mut self, layout: &CodeLayout, at: usize, depth: usize) -> Result<Value, String> {
        let wrong = |what: &str| {
            format!(
                "code object at offset {at} ({} layout): {what}",
                layout.python
            )
        };
        self.take(4 * layout.ints, "a code object's counts")?;
        let fields = self.items(layout.objects, depth)?;
        let line = self.i32("a code object's first line")?;
        self.items(layout.after, depth)?;
        let is_bytes = |i: usize| matches!(&*fields[i], Value::Bytes(_));
        let is_tuple = |i: usize| matches!(&*fields[i], Value::Tuple(_));
        if !is_bytes(0) || !layout.bytes.iter().all(|&i| is_bytes(i)) {
            return Err(wrong("bytecode or kinds are not bytes"));
        }
        if !layout.tuples.iter().all(|&i| is_tuple(i)) {
            return Err(wrong("constants or names are not tuples"));
        }
        match (fields[layout.filename].text(), fields[layout.name].text()) {
            (Some(filename), Some(name)) => Ok(Value::Code {
                name,
                filename,
                line: line as i64,
            }),
            _ => Err(wrong("filename or name is not a string")),
        }
    }

    fn text(&mut self, n: usize, at: usize) -> Result<String, String> {
        let b = self.take(n, "a string")?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("string at offset {at} is not UTF-8"))
    }

    fn items(&mut self, n: usize, depth: usize) -> Result<Vec<Rc<Value>>, String> {
        let mut v = Vec::with_capacity(n.min(self.data.len() - self.pos));
        for _ in 0..n {
            v.push(self.object(depth + 1)?);
        }
        Ok(v)
    }

    /// Key, value pairs up to the `0` (NULL) type byte.
    fn dict(&mut self, depth: usize) -> Result<Vec<Pair>, String> {
        let mut v = Vec::new();
        loop {
            match self.data.get(self.pos) {
                None => return Err("truncated: a dict has no end marker".into()),
                Some(b'0') => {
                    self.pos += 1;
                    return Ok(v);
                }
                Some(_) => {
                    let k = self.object(depth + 1)?;
                    let val = self.object(depth + 1)?;
                    v.push((k, val));
                }
            }
        }
    }

    /// A long: a signed digit count, then that many 15-bit digits, least significant first.
    fn long(&mut self, at: usize) -> Result<i64, String> {
        let n = self.i32("a long")?;
        let count = n.unsigned_abs() as usize;
        let too_big = || format!("integer at offset {at} does not fit 64 bits");
        if count > 5 {
            return Err(too_big());
        }
        let mut v: i128 = 0;
        for i in 0..count {
            let b = self.take(2, "a long digit")?;
            let d = u16::from_le_bytes([b[0], b[1]]);
            if d >= 1 << 15 {
                return Err(format!("long digit out of range at offset {at}"));
            }
            v |= (d as i128) << (15 * i);
        }
        let v = if n < 0 { -v } else { v };
        i64::try_from(v).map_err(|_| too_big())
    }
}
