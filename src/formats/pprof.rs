//! Placeholder: being implemented (see issue 2).

use crate::error::ParseError;
use crate::model::Profile;

pub fn parse(_data: &[u8]) -> Result<Profile, ParseError> {
    Err(ParseError::new("reader not implemented yet"))
}
