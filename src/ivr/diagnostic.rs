//! Problems found in a flow file, each naming the file, the node and the
//! field, with an error/warning severity. Errors keep a flow from being
//! used; warnings are reported but do not.

use std::fmt;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem in one flow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), known for TOML syntax errors.
    pub column: Option<usize>,
    pub node: Option<String>,
    pub field: Option<String>,
    /// What is wrong and, where there is one, the fix, written as
    /// `problem; fix` (see [`Diagnostic::problem`] and [`Diagnostic::hint`]).
    pub message: String,
}

impl Diagnostic {
    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The message up to its first `; `: what is wrong.
    pub fn problem(&self) -> &str {
        self.message
            .split_once("; ")
            .map_or(self.message.as_str(), |(problem, _)| problem)
    }

    /// The message after its first `; `: how to fix it, if it says.
    pub fn hint(&self) -> Option<&str> {
        self.message.split_once("; ").map(|(_, hint)| hint)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(line) => write!(f, "{}:{line}: {severity}: ", self.file)?,
            None => write!(f, "{}: {severity}: ", self.file)?,
        }
        if let Some(node) = &self.node {
            write!(f, "node \"{node}\": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field \"{field}\": ")?;
        }
        f.write_str(&self.message)
    }
}

/// `; did you mean "x"?` when a candidate is close to `wrong`, else empty.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::suggest::closest(wrong, candidates, 0.8)
        .map_or_else(String::new, |c| format!("; did you mean \"{c}\"?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ivr_diagnostic_names_file_node_and_field() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: "default.toml".into(),
            line: Some(23),
            column: None,
            node: Some("menu".into()),
            field: Some("invalid".into()),
            message: "points to unknown node \"goodbey\"".into(),
        };
        assert_eq!(
            d.to_string(),
            "default.toml:23: error: node \"menu\": field \"invalid\": points to unknown node \"goodbey\""
        );
        assert_eq!(d.problem(), d.message);
        assert_eq!(d.hint(), None);
        let typo = Diagnostic {
            message: "exit points to unknown node \"goodbey\"; did you mean \"goodbye\"?".into(),
            ..d
        };
        assert_eq!(typo.problem(), "exit points to unknown node \"goodbey\"");
        assert_eq!(typo.hint(), Some("did you mean \"goodbye\"?"));
    }

    #[test]
    fn ivr_did_you_mean_suggests_close_names_only() {
        assert_eq!(
            did_you_mean("goodbey", ["goodbye", "menu"]),
            "; did you mean \"goodbye\"?"
        );
        assert_eq!(did_you_mean("xyz", ["goodbye", "menu"]), "");
    }
}
