//! Verified messages that arrived ahead of the node: for a later height, or a PrePrepare
//! for a view the node has not entered yet. Each peer may hold a bounded number.

use std::collections::BTreeMap;

use hashbridge_crypto::PublicKey;

use crate::message::SignedMessage;

/// Largest number of buffered messages per peer; later ones are dropped.
pub(crate) const MAX_BUFFERED_PER_PEER: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct FutureBuffer {
    by_peer: BTreeMap<PublicKey, Vec<SignedMessage>>,
}

impl FutureBuffer {
    /// Buffers `message`; returns false when the sender's share is full.
    pub(crate) fn push(&mut self, message: SignedMessage) -> bool {
        let queue = self.by_peer.entry(message.sender).or_default();
        if queue.len() >= MAX_BUFFERED_PER_PEER {
            return false;
        }
        if !queue.contains(&message) {
            queue.push(message);
        }
        true
    }

    /// Removes and returns the messages `select` accepts, and drops those `discard` accepts.
    pub(crate) fn take(
        &mut self,
        select: impl Fn(&SignedMessage) -> bool,
        discard: impl Fn(&SignedMessage) -> bool,
    ) -> Vec<SignedMessage> {
        let mut taken = Vec::new();
        for queue in self.by_peer.values_mut() {
            let (selected, kept): (Vec<_>, Vec<_>) = std::mem::take(queue).into_iter().partition(|m| select(m));
            taken.extend(selected);
            *queue = kept.into_iter().filter(|m| !discard(m)).collect();
        }
        self.by_peer.retain(|_, queue| !queue.is_empty());
        taken
    }

}
