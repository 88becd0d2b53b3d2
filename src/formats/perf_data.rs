//! Placeholder: being implemented (see issue 5).

use crate::error::ParseError;
use crate::formats::ReadOptions;
use crate::model::Profile;

pub fn parse(_data: &[u8], _opts: &ReadOptions) -> Result<Profile, ParseError> {
    Err(ParseError::new("perf.data reading is not implemented yet"))
}
