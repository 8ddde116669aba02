//! The report package: a JSON sidecar that travels with the report.
//!
//! ```json
//! {
//!   "format": "hashbridge-report-package",
//!   "version": 1,
//!   "algorithm": "sha256-salted-v1",
//!   "content": "raw",
//!   "salt": "<64 hex digits>",
//!   "commitment": "<64 hex digits>",
//!   "issuer": "sz-credit",
//!   "kind": "credit.personal"
//! }
//! ```
//!
//! The receiver hashes the report it holds, combines the digest with the package's salt and
//! compares the result with the commitment on the chain. The package's own `commitment`
//! field is a convenience; a verifier recomputes it and never trusts it alone.

use std::path::Path;

use hashbridge_crypto::Hash32;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{commitment, ContentEncoding, Salt};

pub const PACKAGE_FORMAT: &str = "hashbridge-report-package";
pub const PACKAGE_VERSION: u32 = 1;

/// Largest package file read; a real one is under 1 KiB.
const MAX_PACKAGE_BYTES: u64 = 64 * 1024;

/// The commitment algorithm named in a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    #[serde(rename = "sha256-salted-v1")]
    Sha256SaltedV1,
    #[serde(rename = "sha256-unsalted-v1")]
    Sha256UnsaltedV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportPackage {
    pub format: String,
    pub version: u32,
    pub algorithm: Algorithm,
    pub content: ContentEncoding,
    /// Hex salt; absent for an unsalted commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    pub commitment: Hash32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Reason a package could not be read or does not match a report.
#[derive(Debug, Error)]
pub enum PackageError {
    #[error("cannot read report package {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("report package {path} is invalid: {reason}")]
    Invalid { path: String, reason: String },
}

impl ReportPackage {
    /// Builds a package for a report whose content digest is `digest`.
    pub fn new(digest: &Hash32, encoding: ContentEncoding, salt: Option<&Salt>, issuer: Option<String>, kind: Option<String>) -> Self {
        ReportPackage {
            format: PACKAGE_FORMAT.to_string(),
            version: PACKAGE_VERSION,
            algorithm: if salt.is_some() { Algorithm::Sha256SaltedV1 } else { Algorithm::Sha256UnsaltedV1 },
            content: encoding,
            salt: salt.map(Salt::to_hex),
            commitment: commitment(digest, salt),
            issuer,
            kind,
        }
    }

    /// The salt, checked against the algorithm.
    pub fn salt(&self) -> Result<Option<Salt>, String> {
        match (self.algorithm, &self.salt) {
            (Algorithm::Sha256SaltedV1, Some(hex)) => Salt::parse(hex).map(Some).map_err(|e| format!("salt: {e}")),
            (Algorithm::Sha256SaltedV1, None) => Err("algorithm sha256-salted-v1 needs a salt, but the package has none".into()),
            (Algorithm::Sha256UnsaltedV1, None) => Ok(None),
            (Algorithm::Sha256UnsaltedV1, Some(_)) => Err("algorithm sha256-unsalted-v1 takes no salt, but the package has one".into()),
        }
    }

    /// Recomputes the commitment from a content digest, ignoring the stored one.
    pub fn recompute(&self, digest: &Hash32) -> Result<Hash32, String> {
        let salt = self.salt()?;
        Ok(commitment(digest, salt.as_ref()))
    }

    /// Reads and validates a package file.
    pub fn read(path: &Path) -> Result<Self, PackageError> {
        let shown = path.display().to_string();
        let io_error = |source| PackageError::Io { path: shown.clone(), source };
        let invalid = |reason: String| PackageError::Invalid { path: shown.clone(), reason };

        let size = std::fs::metadata(path).map_err(io_error)?.len();
        if size > MAX_PACKAGE_BYTES {
            return Err(invalid(format!("{size} bytes is more than a package can be ({MAX_PACKAGE_BYTES}); check the path")));
        }
        let text = std::fs::read_to_string(path).map_err(io_error)?;
        let package: ReportPackage = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;

        if package.format != PACKAGE_FORMAT {
            return Err(invalid(format!("format is {:?}, expected {PACKAGE_FORMAT:?}", package.format)));
        }
        if package.version != PACKAGE_VERSION {
            return Err(invalid(format!("version {} is not supported; this build reads version {PACKAGE_VERSION}", package.version)));
        }
        package.salt().map_err(invalid)?;
        Ok(package)
    }

    /// Writes the package as pretty JSON, refusing to replace an existing file.
    pub fn write(&self, path: &Path) -> Result<(), PackageError> {
        use std::io::Write;
        let shown = path.display().to_string();
        let io_error = |source| PackageError::Io { path: shown.clone(), source };
        let text = serde_json::to_string_pretty(self).map_err(|e| PackageError::Invalid { path: shown.clone(), reason: e.to_string() })?;
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(io_error)?;
        file.write_all(text.as_bytes()).map_err(io_error)?;
        file.write_all(b"\n").map_err(io_error)?;
        file.sync_all().map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_round_trip_and_recompute() {
        let digest = Hash32::sha256(b"report");
        let salt = Salt([5u8; 32]);
        let package = ReportPackage::new(&digest, ContentEncoding::Raw, Some(&salt), Some("sz-credit".into()), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.pdf.hbpkg.json");
        package.write(&path).unwrap();
        let read = ReportPackage::read(&path).unwrap();
        assert_eq!(read, package);
        assert_eq!(read.recompute(&digest).unwrap(), package.commitment);
        assert_ne!(read.recompute(&Hash32::sha256(b"other")).unwrap(), package.commitment);
        assert!(package.write(&path).is_err());
    }

    #[test]
    fn salted_package_without_salt_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let text = format!(
            r#"{{"format":"{PACKAGE_FORMAT}","version":1,"algorithm":"sha256-salted-v1","content":"raw","commitment":"{}"}}"#,
            Hash32::ZERO
        );
        std::fs::write(&path, text).unwrap();
        let err = ReportPackage::read(&path).unwrap_err().to_string();
        assert!(err.contains("needs a salt"), "{err}");
    }
}
