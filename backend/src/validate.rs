//! Field validation shared by handlers and domain code: every invalid field is collected and
//! answered as one 422 listing them all.

use faceid_protocol::problem::FieldError;
use faceid_protocol::sync::ValidationError;

use crate::error::AppError;

/// A protocol validation error as one field error of a 422.
pub fn field_error(e: &ValidationError) -> FieldError {
    FieldError {
        field: e.field().to_owned(),
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

/// Collects field errors and turns them into one 422.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        });
    }
    /// A trimmed, non-empty text of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let t = value.trim();
        if t.is_empty() {
            self.add(field, "required", "must not be empty");
        } else if t.chars().count() > max {
            self.add(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        } else if t.chars().any(char::is_control) {
            self.add(
                field,
                "invalid_characters",
                "must not contain control characters",
            );
        }
        t.to_owned()
    }
    /// Like [`Check::text`], but empty means `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(self.text(field, v, max)),
        }
    }
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
