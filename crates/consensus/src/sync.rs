//! Checkpoints, status hints and catching up with blocks fetched from peers.
//!
//! Every `checkpoint_interval` heights a validator broadcasts a Checkpoint for the block it
//! committed. Checkpoints of quorum weight for the block this node committed make that
//! height stable, and the host may delete persisted records below it. A Checkpoint, Status
//! or any other message for a height past the one in progress shows that this node is
//! behind, so the core requests the missing blocks from the host. A fetched block is
//! committed only with a commit certificate that verifies.

use hashbridge_crypto::PublicKey;
use hashbridge_types::{Block, CommitCertificate};

use crate::core::{Core, HEIGHT_WINDOW};
use crate::error::MessageError;
use crate::io::{Action, Destination};
use crate::message::{Checkpoint, ConsensusMessage, SignedMessage, Statement, Status};
use crate::proposal::{check_body, check_extends};
use crate::signer::{Signer, Verifier};

impl<S: Signer, V: Verifier> Core<S, V> {
    pub(crate) fn send_checkpoint(&mut self) {
        if !self.is_validator {
            return;
        }
        let checkpoint = Checkpoint { height: self.tip.height, block_hash: self.tip.hash };
        let statement =
            Statement::Checkpoint { chain_id: &self.config.chain_id, height: checkpoint.height, block_hash: checkpoint.block_hash };
        let signature = self.guard.sign_statement(&statement.digest());
        self.record_checkpoint(self.me, &checkpoint);
        let message = SignedMessage { sender: self.me, message: ConsensusMessage::Checkpoint(checkpoint), signature };
        self.send(Destination::Broadcast, message);
    }

    pub(crate) fn on_checkpoint(&mut self, peer: PublicKey, checkpoint: Checkpoint, now_ms: u64) {
        let height = checkpoint.height;
        let on_interval = height.checked_rem(self.config.checkpoint_interval) == Some(0);
        if height == 0 || !on_interval || height <= self.stable_checkpoint {
            return;
        }
        if height > self.tip.height {
            self.request_fetch(peer, now_ms);
        }
        if height <= self.tip.height.saturating_add(HEIGHT_WINDOW) {
            self.record_checkpoint(peer, &checkpoint);
        }
    }

    /// Counts a checkpoint vote and makes its height stable once quorum weight agrees with
    /// this node's own checkpoint.
    fn record_checkpoint(&mut self, sender: PublicKey, checkpoint: &Checkpoint) {
        let votes = self.checkpoints.entry(checkpoint.height).or_default();
        votes.insert(sender, checkpoint.block_hash);

        let Some(own) = votes.get(&self.me).copied() else { return };
        let weight = votes
            .iter()
            .filter(|(_, hash)| **hash == own)
            .filter_map(|(validator, _)| self.config.validators.weight_of(validator))
            .fold(0u64, u64::saturating_add);
        if weight < self.quorum() {
            return;
        }

        self.stable_checkpoint = checkpoint.height;
        self.checkpoints = self.checkpoints.split_off(&checkpoint.height.saturating_add(1));
        self.actions.push(Action::PruneRecords { below_height: checkpoint.height });
    }

    pub(crate) fn on_status(&mut self, peer: PublicKey, status: Status, now_ms: u64) {
        if status.committed_height >= self.round.height {
            self.request_fetch(peer, now_ms);
        }
    }

    /// Tells a peer that is behind how far this node has committed, at most once per view
    /// timeout per peer.
    pub(crate) fn reply_status(&mut self, peer: PublicKey, now_ms: u64) {
        if !self.is_validator {
            return;
        }
        let interval = self.config.consensus_timeout_ms;
        let recent = self.status_sent_ms.get(&peer).is_some_and(|sent| now_ms < sent.saturating_add(interval));
        if recent {
            return;
        }
        self.status_sent_ms.insert(peer, now_ms);

        let status = Status { committed_height: self.tip.height, committed_hash: self.tip.hash };
        let statement = Statement::Status {
            chain_id: &self.config.chain_id,
            committed_height: status.committed_height,
            committed_hash: status.committed_hash,
        };
        let signature = self.guard.sign_statement(&statement.digest());
        let message = SignedMessage { sender: self.me, message: ConsensusMessage::Status(status), signature };
        self.send(Destination::Peer(peer), message);
    }

    /// Asks the host to fetch blocks from the height in progress, at most once per view
    /// timeout for the same height.
    pub(crate) fn request_fetch(&mut self, peer: PublicKey, now_ms: u64) {
        let from_height = self.round.height;
        let interval = self.config.consensus_timeout_ms;
        if let Some((height, at_ms)) = self.last_fetch {
            if height == from_height && now_ms < at_ms.saturating_add(interval) {
                return;
            }
        }
        self.last_fetch = Some((from_height, now_ms));
        self.actions.push(Action::FetchBlocks { from_height, peer });
    }

    pub(crate) fn on_synced_block(&mut self, block: Block, certificate: CommitCertificate) {
        let height = block.height();
        if height != self.round.height {
            return;
        }
        let checked = check_extends(&self.tip, &block).and_then(|()| check_body(&self.config, &block));
        if let Err(reason) = checked {
            return self.reject(MessageError::InvalidSyncedBlock { height, reason: reason.to_string() });
        }
        let hash = block.hash();
        let verified =
            self.verifier.verify_certificate(&self.config.chain_id, &self.config.validators, height, &hash, &certificate);
        if let Err(reason) = verified {
            return self.reject(MessageError::InvalidSyncedBlock { height, reason: reason.to_string() });
        }
        self.commit(block, certificate);
    }
}
