//! The member list, indexed both by public key and by libp2p peer id.

use std::collections::HashMap;

use hashbridge_crypto::PublicKey;
use libp2p::PeerId;

use crate::error::NetworkError;

#[derive(Debug, Clone, Default)]
pub(crate) struct Members {
    by_peer: HashMap<PeerId, PublicKey>,
    by_key: HashMap<PublicKey, PeerId>,
}

impl Members {
    pub fn new(keys: &[PublicKey]) -> Result<Self, NetworkError> {
        let mut members = Members::default();
        for key in keys {
            let peer = key.peer_id().map_err(|_| NetworkError::InvalidMember { key: key.to_hex() })?;
            members.by_peer.insert(peer, *key);
            members.by_key.insert(*key, peer);
        }
        Ok(members)
    }

    pub fn contains(&self, peer: &PeerId) -> bool {
        self.by_peer.contains_key(peer)
    }

    pub fn key_of(&self, peer: &PeerId) -> Option<PublicKey> {
        self.by_peer.get(peer).copied()
    }

    pub fn peer_of(&self, key: &PublicKey) -> Option<PeerId> {
        self.by_key.get(key).copied()
    }
}
