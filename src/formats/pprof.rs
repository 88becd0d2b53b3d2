//! Placeholder: being implemented (see issue 2).

use crate::error::ParseError;
use crate::model::Profile;
use std::io::{self, Write};

pub fn parse(_data: &[u8]) -> Result<Profile, ParseError> {
    Err(ParseError::new("reader not implemented yet"))
}

/// Write `profile` as gzipped profile.proto.
pub fn write_gz(_profile: &Profile, _w: &mut dyn Write) -> io::Result<()> {
    Err(io::Error::other("pprof writer not implemented yet"))
}
