//! Validation findings: every issue names a JSON pointer into the policy document.

use crate::compile::CompiledPolicy;
use std::fmt;

/// One finding. `path` is a JSON pointer (RFC 6901), "" for the whole document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl Issue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "at {}: {}", path, self.message)
    }
}

/// Everything wrong with a policy document: all errors at once, warnings kept apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Report {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.add(false, path.into(), message.into());
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.add(true, path.into(), message.into());
    }

    /// One out-of-line body for every call site (there are hundreds; wasm size).
    #[inline(never)]
    fn add(&mut self, warning: bool, path: String, message: String) {
        let list = if warning {
            &mut self.warnings
        } else {
            &mut self.errors
        };
        list.push(Issue { path, message });
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for Report {
    /// One line per issue: "error at /units/1/name: ...", then the warnings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning {w}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Report {}

/// A policy that passed validation, compiled for lookups, with its warnings.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub policy: CompiledPolicy,
    pub warnings: Vec<Issue>,
}

/// Escape one JSON pointer token (RFC 6901: "~" -> "~0", "/" -> "~1"). By hand: two
/// `str::replace` calls cost each wasm module about a kilobyte more.
pub fn ptr_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// `base` + "/" + escaped token.
pub(crate) fn ptr(base: &str, token: impl fmt::Display) -> String {
    ptr_str(base, &token.to_string())
}

#[inline(never)]
fn ptr_str(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    out.push_str(&ptr_token(token));
    out
}
