//! Checks for the plain strings of requests: ids, names, notes.

use crate::violations::Violations;

/// A required identifier: 1..=`max` characters, no control characters, no
/// surrounding white space.
pub fn id(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        v.add(field, "is required");
    } else {
        text(v, field, value, max);
        if value.trim() != value {
            v.add(field, "must not start or end with white space");
        }
    }
}

/// Optional free text of at most `max` characters without control characters
/// (line breaks and tabs are allowed).
pub fn text(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        v.add(field, "must not contain control characters");
    }
}

/// Required free text of 1..=`max` characters.
pub fn required_text(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        v.add(field, "is required");
    } else {
        text(v, field, value, max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(check: impl Fn(&mut Violations)) -> bool {
        let mut v = Violations::new();
        check(&mut v);
        !v.is_empty()
    }

    #[test]
    fn ids() {
        assert!(!errors(|v| id(v, "f", "order-1", 10)));
        assert!(errors(|v| id(v, "f", "", 10)));
        assert!(errors(|v| id(v, "f", " x", 10)));
        assert!(errors(|v| id(v, "f", "a\u{0}b", 10)));
        assert!(errors(|v| id(v, "f", &"x".repeat(11), 10)));
    }

    #[test]
    fn texts() {
        assert!(!errors(|v| text(v, "f", "", 10)));
        assert!(!errors(|v| text(v, "f", "two\nlines", 10)));
        assert!(errors(|v| required_text(v, "f", "  ", 10)));
        assert!(errors(|v| text(v, "f", "bell\u{7}", 10)));
    }
}
