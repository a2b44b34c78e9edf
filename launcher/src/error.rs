//! Errors meant for people: one line that names the thing, and a hint when we know the fix.

use std::fmt;
use std::io;
use std::path::Path;

#[derive(Debug)]
pub struct Error {
    pub message: String,
    pub hint: Option<String>,
    /// Set when the failure means the input (payload, archive, wheel) is damaged,
    /// as opposed to the environment (disk, permissions).
    pub corrupt: bool,
    /// Already told to the user by another process: exit with this code, print nothing.
    pub reported: Option<i32>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error { message: message.into(), hint: None, corrupt: false, reported: None }
    }

    /// The input itself is damaged or malicious.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Error { corrupt: true, ..Error::new(message) }
    }

    /// A child process failed and has printed why; end with its exit code.
    pub fn reported(code: i32) -> Self {
        Error { reported: Some(code), ..Error::new(String::new()) }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An I/O failure on `path`, phrased for a person and with a hint for the
    /// failures users can fix themselves.
    pub fn io(action: &str, path: &Path, err: io::Error) -> Self {
        let mut e = Error::new(format!("cannot {action} {}: {}", path.display(), describe_io(&err)));
        match err.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                e.hint = Some("set PYSEAL_HOME to a writable directory".into());
            }
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                e.hint = Some("free some disk space, or set PYSEAL_HOME to a disk with room".into());
            }
            _ => {}
        }
        e
    }
}

/// Text from a payload or the network, made safe for a terminal: control
/// characters (escape sequences that could clear the screen or fake output,
/// line breaks that could fake a second message) are shown escaped.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// `io::Error`'s Display appends "(os error N)"; people do not need the number.
pub fn describe_io(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Attach "cannot <action> <path>" to io results.
pub trait IoContext<T> {
    fn ctx(self, action: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, action: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}
