//! famsim's error type. Every error says whose fault it is, because the exit
//! code does: 2 for bad input (scenario, weights, flags), 1 for our own failures.

use std::path::{Path, PathBuf};

/// Result with famsim's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's input is wrong: a scenario, a weights file, a flag. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// A scenario failed validation; the report carries file, line and person. Exit code 2.
    #[error("{0}")]
    Scenario(String),
    /// Reading or writing a file failed. Exit code 1.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A bug or an environment failure inside famsim. Exit code 1.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn input(msg: impl Into<String>) -> Error {
        Error::Input(msg.into())
    }

    pub fn internal(msg: impl Into<String>) -> Error {
        Error::Internal(msg.into())
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The process exit code for this error: 2 bad input, 1 internal error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Scenario(_) => 2,
            Error::Io { .. } | Error::Internal(_) => 1,
        }
    }
}
