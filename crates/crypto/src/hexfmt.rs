//! Parsing of user-supplied hex strings.
//!
//! Input is accepted in any letter case, with or without a `0x` or `sha256:` prefix, and
//! with surrounding whitespace trimmed. Output elsewhere is always lowercase.

use thiserror::Error;

/// Why a hex string could not be parsed into a fixed-length value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    #[error("invalid hex value {value:?}: expected {expected} hex digits ({bytes} bytes), found {found}")]
    WrongLength { value: String, expected: usize, bytes: usize, found: usize },
    #[error("invalid hex value {value:?}: character {character:?} at position {position} is not a hex digit (0-9, a-f)")]
    InvalidCharacter { value: String, character: char, position: usize },
}

/// Strips whitespace and an optional `0x`, `0X` or `sha256:` prefix (any case).
pub fn strip_prefix(input: &str) -> &str {
    let trimmed = input.trim();
    for prefix in ["0x", "sha256:"] {
        if trimmed.len() >= prefix.len() && trimmed.is_char_boundary(prefix.len()) {
            let (head, tail) = trimmed.split_at(prefix.len());
            if head.eq_ignore_ascii_case(prefix) {
                return tail;
            }
        }
    }
    trimmed
}

/// Parses exactly `N` bytes of hex, reporting the first bad character or the wrong length.
pub fn parse_fixed<const N: usize>(input: &str) -> Result<[u8; N], HexError> {
    let digits = strip_prefix(input);
    let shown = truncate_for_message(input);

    if let Some((position, character)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(HexError::InvalidCharacter { value: shown, character, position });
    }
    if digits.len() != N * 2 {
        return Err(HexError::WrongLength {
            value: shown,
            expected: N * 2,
            bytes: N,
            found: digits.len(),
        });
    }

    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| HexError::WrongLength {
        value: truncate_for_message(input),
        expected: N * 2,
        bytes: N,
        found: digits.len(),
    })?;
    Ok(out)
}

/// Keeps error messages short when a caller passes a whole file by mistake.
fn truncate_for_message(input: &str) -> String {
    const MAX_SHOWN: usize = 80;
    if input.chars().count() <= MAX_SHOWN {
        return input.to_string();
    }
    let head: String = input.chars().take(MAX_SHOWN).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOWER: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn accepts_prefixes_and_cases() {
        let expected = parse_fixed::<32>(LOWER).unwrap();
        for input in [
            LOWER.to_uppercase(),
            format!("0x{LOWER}"),
            format!("0X{}", LOWER.to_uppercase()),
            format!("sha256:{LOWER}"),
            format!("SHA256:{LOWER}"),
            format!("  {LOWER}\n"),
        ] {
            assert_eq!(parse_fixed::<32>(&input).unwrap(), expected, "input {input:?}");
        }
    }

    #[test]
    fn rejects_wrong_length_naming_it() {
        let err = parse_fixed::<32>("abcd").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid hex value \"abcd\": expected 64 hex digits (32 bytes), found 4"
        );
    }

    #[test]
    fn rejects_non_hex_character_naming_it() {
        let input = format!("{}g", &LOWER[..63]);
        let err = parse_fixed::<32>(&input).unwrap_err();
        assert!(matches!(err, HexError::InvalidCharacter { character: 'g', position: 63, .. }));
    }

    #[test]
    fn multibyte_input_does_not_panic() {
        assert!(parse_fixed::<32>("é").is_err());
        assert!(parse_fixed::<32>("0é").is_err());
        assert!(parse_fixed::<32>("").is_err());
    }
}
