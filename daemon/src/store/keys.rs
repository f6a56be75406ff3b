//! Opaque paging cursors and prefix ranges over string keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ServiceError;

/// Encodes the position after the last item of a page.
pub fn encode_cursor(parts: &[String]) -> String {
    let json = serde_json::to_vec(parts).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`] with `n` parts.
pub fn decode_cursor(cursor: &str, n: usize) -> Result<Vec<String>, ServiceError> {
    let bad = || ServiceError::BadRequest("cursor is not valid for this listing".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if parts.len() != n {
        return Err(bad());
    }
    Ok(parts)
}

/// Parses an id part of a cursor.
pub fn cursor_id(part: &str) -> Result<u128, ServiceError> {
    uuid::Uuid::parse_str(part)
        .map(|u| u.as_u128())
        .map_err(|_| ServiceError::BadRequest("cursor is not valid for this listing".into()))
}

/// The smallest string greater than every string starting with `prefix`,
/// for an exclusive upper bound of a prefix range.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = encode_cursor(&["ada".into(), "x".into()]);
        assert_eq!(decode_cursor(&c, 2).expect("valid"), vec!["ada", "x"]);
        assert!(decode_cursor(&c, 3).is_err());
        assert!(decode_cursor("%%%", 2).is_err());
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        let end = prefix_end("ad");
        assert!("ada" < end.as_str() && "adz\u{FFFF}" < end.as_str());
        assert!("ae" > end.as_str());
    }
}
