//! Bad input, field by field: every violation of a request is collected
//! before answering, so a client learns all that is wrong at once.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path to the field, e.g. `lines[2].unit_price.amount`.
    pub field: String,
    pub description: String,
}

/// Input that failed its checks; the transport answers INVALID_ARGUMENT with
/// one field violation each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {0:?}")]
pub struct InvalidInput(pub Vec<Violation>);

impl InvalidInput {
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> InvalidInput {
        InvalidInput(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            description: description.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Unwraps a field's parse result, recording its error as a violation.
    pub fn take<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// `Ok` when nothing was recorded, else every violation.
    pub fn finish(self) -> Result<(), InvalidInput> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidInput(self.0))
        }
    }

    /// Like [`Violations::finish`], yielding `value` when nothing was
    /// recorded. A `None` value with nothing recorded is a parse that forgot
    /// to say why; it is reported against `value` rather than panicking.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, InvalidInput> {
        self.finish()?;
        value.ok_or_else(|| InvalidInput::one("request", "is incomplete"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_violation_in_order() {
        let mut v = Violations::new();
        v.add("order_id", "must not be empty");
        assert_eq!(v.take::<i32, _>("quantity", Err("must be at least 1")), None);
        let err = v.finish().unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["order_id", "quantity"]);
        assert_eq!(Violations::new().finish_with(Some(3)), Ok(3));
    }
}
