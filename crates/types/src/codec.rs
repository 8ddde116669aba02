//! The one byte encoding of everything Hashbridge hashes, signs, sends or stores.
//!
//! The encoding is bincode 2.0.1 (pinned, because upstream development has stopped) with
//! little-endian variable-length integers. Every other crate encodes and decodes through
//! this module only, so the format can be replaced in one place.
//!
//! Decoding is strict, so each value has exactly one accepted byte form:
//! 1. the input length is checked against the type's [`Canonical::MAX_ENCODED_BYTES`];
//! 2. bincode runs with an allocation limit of the smallest size class of at least 16 times
//!    the input length. bincode counts a container's in-memory size (`len * size_of::<T>()`)
//!    against the limit, which is larger than its encoded size (an `Option<u64>` is 1 byte
//!    encoded and 16 bytes in memory), so the factor leaves room for honest input while a
//!    forged length prefix still cannot make it reserve gigabytes;
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

/// The reason bytes could not be decoded into a value.
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

/// Ratio between the in-memory size bincode may claim and the input length; see step 2.
const MEMORY_FACTOR: usize = 16;

const fn standard() -> Standard {
    config::standard()
}

fn with_limit<const N: usize>() -> Configuration<LittleEndian, Varint, Limit<N>> {
    standard().with_limit::<N>()
}

/// Encodes a value in its canonical form.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec fails only when an `Encode` impl returns an error itself. None of
    // the types in this workspace do, and an empty result would fail to decode anyway.
    bincode::encode_to_vec(value, standard()).unwrap_or_default()
}

/// Decodes a value, enforcing the size limit, no trailing bytes and canonical form.
pub fn decode<T: Canonical>(bytes: &[u8]) -> Result<T, CodecError> {
    let name = T::NAME;
    if bytes.len() > T::MAX_ENCODED_BYTES {
        return Err(CodecError::TooLarge { name, found: bytes.len(), max: T::MAX_ENCODED_BYTES });
    }

    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    let decoded: Result<(T, usize), bincode::error::DecodeError> = match bytes.len().saturating_mul(MEMORY_FACTOR) {
        0..=MIB => bincode::decode_from_slice(bytes, with_limit::<MIB>()),
        0..=16_777_216 => bincode::decode_from_slice(bytes, with_limit::<{ 16 * MIB }>()),
        0..=268_435_456 => bincode::decode_from_slice(bytes, with_limit::<{ 256 * MIB }>()),
        _ => bincode::decode_from_slice(bytes, with_limit::<{ 2048 * MIB }>()),
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

    #[derive(Debug, PartialEq, Encode, Decode)]
    struct Sparse {
        items: Vec<Option<u64>>,
    }

    impl Canonical for Sparse {
        const MAX_ENCODED_BYTES: usize = 1 << 20;
        const NAME: &'static str = "sparse";
    }

    #[test]
    fn small_encodings_of_large_values_decode() {
        // 60,000 `None`s encode to about 60 KB but occupy 960 KB in memory.
        let value = Sparse { items: vec![None; 60_000] };
        let bytes = encode(&value);
        assert!(bytes.len() < 65_536);
        assert_eq!(decode::<Sparse>(&bytes).unwrap(), value);
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
