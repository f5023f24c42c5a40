//! Paths with a custom method in their last segment (`{customerId}:activate`): a
//! router parameter cannot be followed by a literal in one segment, so the handler
//! captures the segment and splits it here.

/// Splits `id:method` at the last `:`; a segment without one is a plain id.
pub fn split_custom_method(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((id, method)) => (id, Some(method)),
        None => (segment, None),
    }
}

#[cfg(test)]
mod tests {
    use super::split_custom_method;

    #[test]
    fn splits_at_the_last_colon() {
        assert_eq!(
            split_custom_method("abc:activate"),
            ("abc", Some("activate"))
        );
        assert_eq!(split_custom_method("a:b:cancel"), ("a:b", Some("cancel")));
        assert_eq!(split_custom_method("abc"), ("abc", None));
    }
}
