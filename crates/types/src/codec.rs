//! The one byte encoding of everything Hashbridge hashes, signs, sends or stores.
//!
//! The encoding is bincode 2.0.1 (pinned, because upstream development has stopped) with
//! little-endian variable-length integers. Every other crate encodes and decodes through
//! this module only, so the format can be replaced in one place.
//!
//! Decoding is strict, so each value has exactly one accepted byte form:
//! 1. the input length is checked against the type's [`Canonical::MAX_ENCODED_BYTES`];
//! 2. bincode runs with an allocation limit no larger than the smallest size class that
//!    holds the input, so a forged length prefix cannot make it reserve gigabytes;
//! 3. trailing bytes after the value are rejected;
//! 4. the value is encoded again and must give the same bytes, which rejects non-minimal
//!    integers and any other alternative spelling.

use bincode::config::{self, Configuration, Limit, LittleEndian, Varint};
use bincode::{Decode, Encode};
use thiserror::Error;

/// A type with a canonical encoding and a bound on its encoded size.
pub trait Canonical: Encode + Decode<()> + Sized {
    /// Largest encoding accepted by [`decode`]; larger input is rejected before decoding.
    const MAX_ENCODED_BYTES: usize;
    /// Name used in error messages.
    const NAME: &'static str;
}

/// Why bytes could not be decoded into a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("{name} is {found} bytes, more than the {max} bytes allowed")]
    TooLarge { name: &'static str, found: usize, max: usize },
    #[error("{name} could not be decoded: {reason}")]
    Malformed { name: &'static str, reason: String },
    #[error("{name} has {extra} unexpected bytes after its end")]
    TrailingBytes { name: &'static str, extra: usize },
    #[error("{name} is not in canonical form: it does not encode back to the same bytes")]
    NotCanonical { name: &'static str },
}

type Standard = Configuration<LittleEndian, Varint>;

const fn standard() -> Standard {
    config::standard()
}

fn with_limit<const N: usize>() -> Configuration<LittleEndian, Varint, Limit<N>> {
    standard().with_limit::<N>()
}

/// Encodes a value in its canonical form.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec fails only if an `Encode` impl returns an error itself, and none of
    // the types in this workspace do; an empty result would fail to decode and be caught.
    bincode::encode_to_vec(value, standard()).unwrap_or_default()
}

/// Decodes a value, enforcing the size limit, no trailing bytes and canonical form.
pub fn decode<T: Canonical>(bytes: &[u8]) -> Result<T, CodecError> {
    let name = T::NAME;
    if bytes.len() > T::MAX_ENCODED_BYTES {
        return Err(CodecError::TooLarge { name, found: bytes.len(), max: T::MAX_ENCODED_BYTES });
    }

    let decoded: Result<(T, usize), bincode::error::DecodeError> = match bytes.len() {
        0..=65_536 => bincode::decode_from_slice(bytes, with_limit::<65_536>()),
        65_537..=1_048_576 => bincode::decode_from_slice(bytes, with_limit::<1_048_576>()),
        1_048_577..=16_777_216 => bincode::decode_from_slice(bytes, with_limit::<16_777_216>()),
        _ => bincode::decode_from_slice(bytes, with_limit::<134_217_728>()),
    };
    let (value, read) = decoded.map_err(|e| CodecError::Malformed { name, reason: e.to_string() })?;

    if read != bytes.len() {
        return Err(CodecError::TrailingBytes { name, extra: bytes.len() - read });
    }
    if encode(&value) != bytes {
        return Err(CodecError::NotCanonical { name });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Encode, Decode)]
    struct Sample {
        number: u64,
        items: Vec<u8>,
    }

    impl Canonical for Sample {
        const MAX_ENCODED_BYTES: usize = 100;
        const NAME: &'static str = "sample";
    }

    #[test]
    fn round_trip() {
        let value = Sample { number: 300, items: vec![1, 2, 3] };
        let bytes = encode(&value);
        assert_eq!(bytes, [251, 44, 1, 3, 1, 2, 3]);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), value);
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = encode(&Sample { number: 1, items: vec![] });
        bytes.push(0);
        assert_eq!(decode::<Sample>(&bytes), Err(CodecError::TrailingBytes { name: "sample", extra: 1 }));
    }

    #[test]
    fn rejects_non_minimal_integer() {
        // 5 written as a two-byte varint (marker 251 then u16) instead of one byte.
        let bytes = [251, 5, 0, 0];
        assert_eq!(decode::<Sample>(&bytes), Err(CodecError::NotCanonical { name: "sample" }));
    }

    #[test]
    fn rejects_oversized_input_before_decoding() {
        let bytes = vec![0u8; 101];
        assert!(matches!(decode::<Sample>(&bytes), Err(CodecError::TooLarge { found: 101, .. })));
    }

    #[test]
    fn forged_length_prefix_does_not_allocate() {
        // A length prefix of 2^62 elements in an 11-byte input.
        let mut bytes = vec![0u8];
        bytes.push(253);
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        bytes.push(0);
        assert!(matches!(decode::<Sample>(&bytes), Err(CodecError::Malformed { .. })));
    }
}
