//! Placeholder: being implemented (see issue 2).

use crate::error::ParseError;
use crate::model::Profile;

/// Annotations of the perf script reader, named after `stackcollapse-perf.pl`'s options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--pid`: put `comm-PID` in the root frame.
    pub include_pid: bool,
    /// `--tid`: put `comm-PID/TID` in the root frame.
    pub include_tid: bool,
    /// `--kernel`: suffix kernel frames with `_[k]`.
    pub annotate_kernel: bool,
    /// `--jit`: suffix JIT frames with `_[j]`.
    pub annotate_jit: bool,
    /// `--addrs`: keep raw addresses of unknown frames.
    pub include_addrs: bool,
}

pub fn parse(_data: &[u8], _opts: &Options, _event: Option<&str>) -> Result<Profile, ParseError> {
    Err(ParseError::new("reader not implemented yet"))
}
