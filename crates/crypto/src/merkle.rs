//! The RFC 6962 / RFC 9162 Merkle tree.
//!
//! Leaf hashes are `SHA-256(0x00 || leaf)` and interior nodes `SHA-256(0x01 || left || right)`.
//! A tree of `n` leaves splits at the largest power of two smaller than `n`, so the last leaf
//! is never duplicated to pad the tree. The empty tree's root is `SHA-256("")`.
//!
//! Proof generation reads subtree hashes through [`SubtreeHashes`], so the same code serves
//! an in-memory slice of leaf hashes and a store that caches perfect subtrees on disk.
//! Verification never panics: a proof of the wrong length, an index out of range or a size
//! mismatch returns a [`ProofError`].

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::hash::Hash32;

/// Hashes the bytes of one leaf with the RFC 6962 leaf prefix `0x00`.
pub fn leaf_hash(leaf: &[u8]) -> Hash32 {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf);
    Hash32(hasher.finalize().into())
}

/// Hashes two child hashes with the RFC 6962 interior-node prefix `0x01`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash32(hasher.finalize().into())
}

/// The root of the tree with no leaves.
pub fn empty_root() -> Hash32 {
    Hash32::sha256(b"")
}

/// The largest power of two strictly smaller than `n`, for `n >= 2`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Reason a proof could not be built or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError<E = std::convert::Infallible> {
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    #[error("tree size {first} is larger than tree size {second}; a consistency proof goes from the smaller to the larger")]
    SizesOutOfOrder { first: u64, second: u64 },
    #[error("proof has {found} hashes but a proof for these sizes needs {expected}")]
    WrongLength { expected: String, found: usize },
    #[error("computed root {computed} does not match the expected root {expected}")]
    RootMismatch { computed: Hash32, expected: Hash32 },
    #[error("reading subtree hashes failed: {0}")]
    Source(E),
}

/// Access to the hash of any subtree `[start, start + size)` of a tree.
pub trait SubtreeHashes {
    type Error;

    /// The Merkle root of leaves `start .. start + size`. `size` is at least 1.
    fn subtree_hash(&self, start: u64, size: u64) -> Result<Hash32, Self::Error>;
}

impl SubtreeHashes for [Hash32] {
    type Error = std::convert::Infallible;

    fn subtree_hash(&self, start: u64, size: u64) -> Result<Hash32, Self::Error> {
        let start = start as usize;
        let size = size as usize;
        Ok(slice_root(self.get(start..start + size).unwrap_or_default()))
    }
}

impl SubtreeHashes for Vec<Hash32> {
    type Error = std::convert::Infallible;

    fn subtree_hash(&self, start: u64, size: u64) -> Result<Hash32, Self::Error> {
        self.as_slice().subtree_hash(start, size)
    }
}

/// The Merkle root of a slice of leaf hashes.
pub fn root(leaves: &[Hash32]) -> Hash32 {
    slice_root(leaves)
}

fn slice_root(leaves: &[Hash32]) -> Hash32 {
    match leaves {
        [] => empty_root(),
        [single] => *single,
        _ => {
            let k = split_point(leaves.len() as u64) as usize;
            let (left, right) = leaves.split_at(k);
            node_hash(&slice_root(left), &slice_root(right))
        }
    }
}

/// Builds the inclusion proof (RFC 9162 section 2.1.3.1) for leaf `index` in a tree of `tree_size`.
pub fn inclusion_proof<S: SubtreeHashes + ?Sized>(
    tree: &S,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash32>, ProofError<S::Error>> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut path = Vec::new();
    inclusion_path(tree, index, 0, tree_size, &mut path)?;
    Ok(path)
}

fn inclusion_path<S: SubtreeHashes + ?Sized>(
    tree: &S,
    index: u64,
    start: u64,
    size: u64,
    path: &mut Vec<Hash32>,
) -> Result<(), ProofError<S::Error>> {
    if size <= 1 {
        return Ok(());
    }
    let k = split_point(size);
    if index < k {
        inclusion_path(tree, index, start, k, path)?;
        path.push(tree.subtree_hash(start + k, size - k).map_err(ProofError::Source)?);
    } else {
        inclusion_path(tree, index - k, start + k, size - k, path)?;
        path.push(tree.subtree_hash(start, k).map_err(ProofError::Source)?);
    }
    Ok(())
}

/// Builds the consistency proof (RFC 9162 section 2.1.4.1) from `first_size` to `second_size`.
pub fn consistency_proof<S: SubtreeHashes + ?Sized>(
    tree: &S,
    first_size: u64,
    second_size: u64,
) -> Result<Vec<Hash32>, ProofError<S::Error>> {
    if first_size > second_size {
        return Err(ProofError::SizesOutOfOrder { first: first_size, second: second_size });
    }
    let mut path = Vec::new();
    if first_size == 0 || first_size == second_size {
        return Ok(path);
    }
    consistency_subproof(tree, first_size, 0, second_size, true, &mut path)?;
    Ok(path)
}

fn consistency_subproof<S: SubtreeHashes + ?Sized>(
    tree: &S,
    first_size: u64,
    start: u64,
    size: u64,
    first_is_complete_subtree: bool,
    path: &mut Vec<Hash32>,
) -> Result<(), ProofError<S::Error>> {
    if first_size == size {
        if !first_is_complete_subtree {
            path.push(tree.subtree_hash(start, size).map_err(ProofError::Source)?);
        }
        return Ok(());
    }
    let k = split_point(size);
    if first_size <= k {
        consistency_subproof(tree, first_size, start, k, first_is_complete_subtree, path)?;
        path.push(tree.subtree_hash(start + k, size - k).map_err(ProofError::Source)?);
    } else {
        consistency_subproof(tree, first_size - k, start + k, size - k, false, path)?;
        path.push(tree.subtree_hash(start, k).map_err(ProofError::Source)?);
    }
    Ok(())
}

/// Computes the root implied by an inclusion proof (RFC 9162 section 2.1.3.2).
pub fn root_from_inclusion_proof(
    leaf: &Hash32,
    index: u64,
    tree_size: u64,
    proof: &[Hash32],
) -> Result<Hash32, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut result = *leaf;

    for sibling in proof {
        if sn == 0 {
            return Err(wrong_inclusion_length(index, tree_size, proof.len()));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            result = node_hash(sibling, &result);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            result = node_hash(&result, sibling);
        }
        fn_ >>= 1;
        sn >>= 1;
    }

    if sn != 0 {
        return Err(wrong_inclusion_length(index, tree_size, proof.len()));
    }
    Ok(result)
}

fn wrong_inclusion_length(index: u64, tree_size: u64, found: usize) -> ProofError {
    ProofError::WrongLength { expected: inclusion_proof_length(index, tree_size).to_string(), found }
}

/// The number of hashes in a correct inclusion proof for `index` in a tree of `tree_size`.
fn inclusion_proof_length(index: u64, tree_size: u64) -> u32 {
    let mut length = 0;
    let (mut size, mut index) = (tree_size, index);
    while size > 1 {
        let k = split_point(size);
        if index < k {
            size = k;
        } else {
            index -= k;
            size -= k;
        }
        length += 1;
    }
    length
}

/// Verifies that `leaf` is at `index` in the tree of `tree_size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash32,
    index: u64,
    tree_size: u64,
    proof: &[Hash32],
    root: &Hash32,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf, index, tree_size, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch { computed, expected: *root });
    }
    Ok(())
}

/// Verifies that the tree of `first_size` with `first_root` is a prefix of the tree of
/// `second_size` with `second_root` (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(
    first_size: u64,
    second_size: u64,
    proof: &[Hash32],
    first_root: &Hash32,
    second_root: &Hash32,
) -> Result<(), ProofError> {
    if first_size > second_size {
        return Err(ProofError::SizesOutOfOrder { first: first_size, second: second_size });
    }
    let expect_root = |computed: Hash32, expected: &Hash32| {
        if computed == *expected {
            Ok(())
        } else {
            Err(ProofError::RootMismatch { computed, expected: *expected })
        }
    };
    if first_size == second_size || first_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { expected: "0".into(), found: proof.len() });
        }
        return if first_size == 0 { Ok(()) } else { expect_root(*first_root, second_root) };
    }
    let wrong_length = || ProofError::WrongLength { expected: "a different number".into(), found: proof.len() };

    let mut path: Vec<Hash32> = Vec::with_capacity(proof.len() + 1);
    if first_size.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);

    let mut fn_ = first_size - 1;
    let mut sn = second_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(wrong_length());
    };
    let mut first_result = *first;
    let mut second_result = *first;

    for node in rest {
        if sn == 0 {
            return Err(wrong_length());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            first_result = node_hash(node, &first_result);
            second_result = node_hash(node, &second_result);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            second_result = node_hash(&second_result, node);
        }
        fn_ >>= 1;
        sn >>= 1;
    }

    if sn != 0 {
        return Err(wrong_length());
    }
    expect_root(first_result, first_root)?;
    expect_root(second_result, second_root)
}

/// The right edge of a tree: the roots of its perfect subtrees, largest first.
///
/// Appending a leaf costs O(log n) hashes and the root is available at any time without
/// reading old leaves, which is how the ledger keeps the anchor log root current.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash32>,
}

/// A perfect subtree completed by an append: it covers leaves `start .. start + size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedSubtree {
    pub start: u64,
    pub size: u64,
    pub hash: Hash32,
}

impl Frontier {
    /// Rebuilds the frontier of a tree from its perfect-subtree roots, largest first.
    /// Returns `None` when the number of peaks does not match `size`.
    pub fn from_parts(size: u64, peaks: Vec<Hash32>) -> Option<Self> {
        (size.count_ones() as usize == peaks.len()).then_some(Frontier { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn peaks(&self) -> &[Hash32] {
        &self.peaks
    }

    /// Appends one leaf hash and returns every perfect subtree of two or more leaves that
    /// this append completed, smallest first.
    pub fn push(&mut self, leaf: Hash32) -> Vec<CompletedSubtree> {
        let mut completed = Vec::new();
        let mut hash = leaf;
        let mut subtree_size = 1u64;
        let index = self.size;

        while index & subtree_size != 0 {
            let Some(left) = self.peaks.pop() else { break };
            hash = node_hash(&left, &hash);
            subtree_size <<= 1;
            completed.push(CompletedSubtree { start: index + 1 - subtree_size, size: subtree_size, hash });
        }
        self.peaks.push(hash);
        self.size += 1;
        completed
    }

    /// The Merkle root of all leaves pushed so far.
    pub fn root(&self) -> Hash32 {
        let mut iter = self.peaks.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, peak| node_hash(peak, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_and_single_roots() {
        assert_eq!(
            root(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 leaf hash of the empty string.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn frontier_matches_recursive_root() {
        let all = leaves(70);
        let mut frontier = Frontier::default();
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.root(), root(&all[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn frontier_reports_completed_subtrees() {
        let all = leaves(8);
        let mut frontier = Frontier::default();
        let mut completed = Vec::new();
        for leaf in &all {
            completed.extend(frontier.push(*leaf));
        }
        for subtree in completed {
            let range = subtree.start as usize..(subtree.start + subtree.size) as usize;
            assert_eq!(subtree.hash, root(&all[range]));
        }
    }

    #[test]
    fn malformed_proofs_return_errors() {
        let all = leaves(5);
        let r = root(&all);
        let proof = inclusion_proof(all.as_slice(), 2, 5).unwrap();
        assert!(verify_inclusion(&all[2], 2, 5, &proof, &r).is_ok());
        assert!(verify_inclusion(&all[2], 5, 5, &proof, &r).is_err());
        assert!(verify_inclusion(&all[2], 2, 5, &proof[..1], &r).is_err());
        let mut long = proof.clone();
        long.push(Hash32::ZERO);
        assert!(verify_inclusion(&all[2], 2, 5, &long, &r).is_err());
        assert!(verify_inclusion(&all[2], 2, 0, &proof, &r).is_err());
        assert!(verify_inclusion(&all[2], u64::MAX, u64::MAX, &proof, &r).is_err());
        assert!(verify_consistency(3, 2, &[], &r, &r).is_err());
        assert!(verify_consistency(3, 5, &[], &r, &r).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &[Hash32::ZERO; 70], &r, &r).is_err());
    }

    proptest! {
        #[test]
        fn inclusion_proofs_verify(size in 1u64..200, seed in any::<u64>()) {
            let all = leaves(size);
            let index = seed % size;
            let r = root(&all);
            let proof = inclusion_proof(all.as_slice(), index, size).unwrap();
            prop_assert_eq!(proof.len() as u32, inclusion_proof_length(index, size));
            prop_assert!(verify_inclusion(&all[index as usize], index, size, &proof, &r).is_ok());
            let other = (index + 1) % size;
            if other != index {
                prop_assert!(verify_inclusion(&all[index as usize], other, size, &proof, &r).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify(second in 1u64..200, seed in any::<u64>()) {
            let all = leaves(second);
            let first = seed % second + 1;
            let proof = consistency_proof(all.as_slice(), first, second).unwrap();
            let first_root = root(&all[..first as usize]);
            let second_root = root(&all);
            prop_assert!(verify_consistency(first, second, &proof, &first_root, &second_root).is_ok());
            if first < second {
                prop_assert!(verify_consistency(first, second, &proof, &second_root, &second_root).is_err());
            }
        }

        #[test]
        fn random_proofs_never_panic(index in any::<u64>(), size in any::<u64>(), n in 0usize..70, first in any::<u64>()) {
            let proof = vec![Hash32::ZERO; n];
            let _ = verify_inclusion(&Hash32::ZERO, index, size, &proof, &Hash32::ZERO);
            let _ = verify_consistency(first, size, &proof, &Hash32::ZERO, &Hash32::ZERO);
        }
    }
}
