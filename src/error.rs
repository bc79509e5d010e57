//! The two kinds of failure: bad input (the user's to fix, exit status 2) and failure to
//! write results (the machine's, exit status 1).

use std::fmt;
use std::path::PathBuf;

/// Bad input, located as precisely as the input allows: file, line and column, field path.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The file the input came from, when there is one.
    pub file: Option<PathBuf>,
    /// Line and column (1-based) where known.
    pub location: Option<(usize, usize)>,
    /// The field path inside the document, such as `fleet.servers`.
    pub field: Option<String>,
    /// What is wrong: the value and what was expected.
    pub message: String,
    /// Whether it says that a replica does not fit its GPUs' memory: a sweep leaves such a
    /// configuration out instead of stopping.
    pub does_not_fit: bool,
}

impl InputError {
    /// An error about the field at `field`, not yet tied to a file.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            file: None,
            location: None,
            field: Some(field.into()),
            message: message.into(),
            does_not_fit: false,
        }
    }

    /// A replica that does not fit its GPUs' memory, as the field at `field` sets it up.
    pub fn does_not_fit(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            does_not_fit: true,
            ..InputError::field(field, message)
        }
    }

    /// An error about the input as a whole, such as an unreadable file.
    pub fn general(message: impl Into<String>) -> Self {
        InputError {
            file: None,
            location: None,
            field: None,
            message: message.into(),
            does_not_fit: false,
        }
    }

    /// Names the file the error is in.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Prefixes the field path with `parent`, for errors found inside a nested value.
    pub fn under(mut self, parent: &str) -> Self {
        self.field = Some(match self.field {
            Some(child) if child.starts_with('[') => format!("{parent}{child}"),
            Some(child) => format!("{parent}.{child}"),
            None => parent.to_string(),
        });
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some((line, column)) = self.location {
                write!(f, ":{line}:{column}")?;
            }
            f.write_str(": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// Any failure of a fleetsim command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario or another input is wrong.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The user stopped the study (Ctrl-C); nothing was written.
    #[error("interrupted; the previous results were left as they were")]
    Interrupted,
    /// Results could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file or folder being written.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit status for this failure: 2 for bad input, 130 for an interrupt (as
    /// shells report SIGINT), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Interrupted => 130,
            Error::Output { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_column_and_field() {
        let mut err = InputError::field("servers", "must be at least 1, got 0").under("fleet");
        err.location = Some((12, 3));
        let err = err.in_file("scenarios/x.yaml");
        assert_eq!(
            err.to_string(),
            "scenarios/x.yaml:12:3: fleet.servers: must be at least 1, got 0"
        );
    }

    #[test]
    fn list_indices_attach_without_a_dot() {
        let err = InputError::field("[3]", "negative").under("workload.hourly");
        assert_eq!(err.field.as_deref(), Some("workload.hourly[3]"));
    }
}
