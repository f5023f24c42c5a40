//! Text as Kopek keeps it: no control characters. PostgreSQL's `text` refuses NUL
//! outright, SQLite would store it, and every control character prints as nothing
//! or as damage on invoices, pages and mails; refusing them at the edge keeps the
//! two backends, and what people read, alike.

use crate::error::{FieldError, Reason};

/// Why a value was refused.
pub const NO_CONTROLS: Reason = Reason::Format {
    en: "text without control characters",
    ru: "текстом без управляющих символов",
};

/// Whether a one-line value (a name, an id, a login) is free of control characters.
pub fn is_line(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

/// Whether a value that may span lines (an address, a note) is free of control
/// characters other than tab, line feed and carriage return.
pub fn is_multiline(value: &str) -> bool {
    !value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A one-line value, or the error that names its field.
pub fn line(field: &str, value: &str) -> Result<(), FieldError> {
    if is_line(value) {
        Ok(())
    } else {
        Err(FieldError::new(field, NO_CONTROLS))
    }
}

/// A value that may span lines, or the error that names its field.
pub fn multiline(field: &str, value: &str) -> Result<(), FieldError> {
    if is_multiline(value) {
        Ok(())
    } else {
        Err(FieldError::new(field, NO_CONTROLS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_line_breaks_only_where_text_spans_lines() {
        for bad in ["a\0b", "\u{1}", "a\u{1f}", "\u{7f}", "\u{85}", "a\u{9f}b"] {
            assert!(!is_line(bad), "{bad:?}");
            assert!(!is_multiline(bad), "{bad:?}");
        }
        for spans in ["a\nb", "a\tb", "a\r\nb"] {
            assert!(!is_line(spans));
            assert!(is_multiline(spans));
        }
        for fine in ["", "ООО «Ромашка»", "renée", "💳 4242", "a\u{a0}b"] {
            assert!(is_line(fine) && is_multiline(fine), "{fine:?}");
        }
        assert_eq!(line("name", "a\0").unwrap_err().field, "name");
    }
}
