//! Validation errors as the contract reports them (field -> problems), and the helpers
//! that let a parser collect every problem of a request before answering.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Field name -> problems, as the contract's `"fields"` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub BTreeMap<String, Vec<String>>);

impl ValidationErrors {
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(problem.into());
    }

    pub fn single(field: &str, problem: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, problem);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every problem of `other`, as when a part of a request was parsed apart.
    pub fn merge(&mut self, other: Self) {
        for (field, problems) in other.0 {
            self.0.entry(field).or_default().extend(problems);
        }
    }

    /// Ok when nothing was recorded, so a parser can collect every problem first.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Records the problem of a field parse and hands back its value, if any.
    pub fn take<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(field, problem);
                None
            }
        }
    }

    /// A field that must be present: records "required" when it is absent.
    pub fn required<T>(&mut self, field: &str, parsed: Option<Result<T, String>>) -> Option<T> {
        match parsed {
            None => {
                self.add(field, "this field is required");
                None
            }
            Some(result) => self.take(field, result),
        }
    }

    /// A field that may be absent: only its problems are recorded.
    pub fn optional<T>(&mut self, field: &str, parsed: Option<Result<T, String>>) -> Option<T> {
        parsed.and_then(|result| self.take(field, result))
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, problems)| format!("{field}: {}", problems.join(", ")))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// One line of text: trimmed, not blank, at most `max` characters, no control characters.
pub fn parse_line(raw: &str, max: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".into());
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_and_optional_fields_record_their_problems() {
        let mut errors = ValidationErrors::default();
        assert_eq!(errors.required::<i32>("a", None), None);
        assert_eq!(errors.optional::<i32>("b", None), None);
        assert_eq!(
            errors.optional("c", Some(Err::<i32, _>("bad".into()))),
            None
        );
        assert_eq!(errors.required("d", Some(Ok::<_, String>(4))), Some(4));
        assert_eq!(errors.to_string(), "a: this field is required; c: bad");
    }

    #[test]
    fn a_line_is_trimmed_bounded_and_printable() {
        assert_eq!(parse_line(" Up ", 10).unwrap(), "Up");
        assert!(parse_line("  ", 10).is_err());
        assert!(parse_line("abcdef", 5).is_err());
        assert!(parse_line("A\u{7}", 5).is_err());
    }
}
