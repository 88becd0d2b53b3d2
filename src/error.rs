//! Typed errors of the library. The CLI adds context with anyhow and maps every error to exit
//! code 2; messages are one line that names the file and what is wrong with it.

use crate::model::ops::MergeError;

/// A reader's complaint about bytes it was given; the caller knows the file name.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(msg: impl Into<String>) -> Self {
        ParseError(msg.into())
    }
}

/// Shorthand for `Err(ParseError::new(format!(...)))`.
#[macro_export]
macro_rules! parse_bail {
    ($($arg:tt)*) => { return Err($crate::error::ParseError::new(format!($($arg)*))) };
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    /// The file is in a known format but its content is wrong.
    #[error("{path}: invalid {format} profile: {error}")]
    Parse {
        path: String,
        format: &'static str,
        error: ParseError,
    },
    /// The file cannot be used at all (empty, unknown format, too large, …).
    #[error("{path}: {msg}")]
    Input { path: String, msg: String },
    #[error("{0}")]
    Merge(#[from] MergeError),
    /// Anything else the library wants to say in one line.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(path: impl std::fmt::Display, error: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            error,
        }
    }
    pub fn input(path: impl std::fmt::Display, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_string(),
            msg: msg.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
