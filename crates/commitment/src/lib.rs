//! How a credit report becomes a commitment that can go on the chain.
//!
//! 1. **Content digest.** Plain SHA-256 of the report file's bytes, read in 64 KiB chunks so
//!    a file of any size is hashed in constant memory. For a JSON report, the digest is taken
//!    over its RFC 8785 (JCS) canonical form instead, so whitespace and key order do not
//!    change it (see [`jcs`]).
//! 2. **Commitment.** Version 1 salted: `SHA-256(tag || salt || content digest)` with a
//!    32-byte random salt and the domain tag `hashbridge/v1/commitment/salted`. The salt stops
//!    anyone who reads the chain from confirming a guessed report. An unsalted commitment,
//!    with its own tag, is made only when the caller asks for it.
//! 3. **Report package.** A small JSON sidecar holding the salt and the commitment, which
//!    travels with the report. The salt never goes to a node.
//!
//! `docs/commitment.md` specifies the format with worked examples.

pub mod jcs;
pub mod package;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use hashbridge_crypto::{Domain, Hash32};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroize;

pub use package::{ReportPackage, PACKAGE_FORMAT};

/// Largest JSON report accepted for canonical hashing. JCS needs the whole document in
/// memory, unlike raw file hashing, so the size is bounded.
pub const MAX_JSON_REPORT_BYTES: u64 = 64 * 1024 * 1024;

const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Method that turns the report's bytes into a content digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentEncoding {
    /// SHA-256 of the file's bytes as they are.
    Raw,
    /// SHA-256 of the RFC 8785 canonical form of the JSON document.
    JsonJcs,
}

/// A 32-byte random salt. Zeroed on drop and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(pub [u8; 32]);

impl Salt {
    /// Draws a salt from the operating system's random source.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Salt(bytes)
    }

    pub fn parse(input: &str) -> Result<Self, hashbridge_crypto::hexfmt::HexError> {
        hashbridge_crypto::hexfmt::parse_fixed::<32>(input).map(Salt)
    }

    pub fn to_hex(&self) -> String {
        Hash32(self.0).to_hex()
    }
}

impl Drop for Salt {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(..)")
    }
}

/// Reason a report could not be hashed.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("cannot read report {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("report {path} is {size} bytes; JSON reports are limited to {max} bytes for canonical hashing, hash it without --json instead")]
    JsonTooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("report {path} is not valid JSON for canonical hashing: {source}")]
    Json { path: PathBuf, source: jcs::JcsError },
}

/// Streams SHA-256 over everything `reader` yields.
pub fn digest_reader(mut reader: impl Read) -> io::Result<Hash32> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(buffer.get(..read).unwrap_or_default());
    }
    Ok(Hash32(hasher.finalize().into()))
}

/// The content digest of a report file.
pub fn digest_file(path: &Path, encoding: ContentEncoding) -> Result<Hash32, ReportError> {
    let io_error = |source| ReportError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_error)?;

    match encoding {
        ContentEncoding::Raw => digest_reader(io::BufReader::new(file)).map_err(io_error),
        ContentEncoding::JsonJcs => {
            let size = file.metadata().map_err(io_error)?.len();
            if size > MAX_JSON_REPORT_BYTES {
                return Err(ReportError::JsonTooLarge { path: path.to_path_buf(), size, max: MAX_JSON_REPORT_BYTES });
            }
            let mut bytes = Vec::with_capacity(size as usize);
            file.take(MAX_JSON_REPORT_BYTES + 1).read_to_end(&mut bytes).map_err(io_error)?;
            let canonical = jcs::canonicalize(&bytes).map_err(|source| ReportError::Json { path: path.to_path_buf(), source })?;
            Ok(Hash32::sha256(&canonical))
        }
    }
}

/// A version 1 commitment, salted or (only on explicit request) unsalted.
pub fn commitment(content_digest: &Hash32, salt: Option<&Salt>) -> Hash32 {
    match salt {
        Some(salt) => Domain::CommitmentV1Salted.hash_parts(&[&salt.0, content_digest.as_bytes()]),
        None => Domain::CommitmentV1Unsalted.hash(content_digest.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn raw_digest_matches_sha256() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"abc").unwrap();
        let digest = digest_file(file.path(), ContentEncoding::Raw).unwrap();
        assert_eq!(digest.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn streaming_crosses_chunk_boundaries() {
        let data: Vec<u8> = (0..(READ_CHUNK_BYTES * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let streamed = digest_reader(io::Cursor::new(&data)).unwrap();
        assert_eq!(streamed, Hash32::sha256(&data));
    }

    #[test]
    fn salted_and_unsalted_differ() {
        let digest = Hash32::sha256(b"report");
        let salt = Salt([7u8; 32]);
        let salted = commitment(&digest, Some(&salt));
        assert_ne!(salted, commitment(&digest, None));
        assert_ne!(salted, commitment(&digest, Some(&Salt([8u8; 32]))));
        assert_ne!(salted, digest);
    }

    #[test]
    fn missing_file_names_path() {
        let err = digest_file(Path::new("/nonexistent/report.pdf"), ContentEncoding::Raw).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/report.pdf"), "{err}");
    }
}
