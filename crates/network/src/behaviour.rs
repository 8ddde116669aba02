//! The composed libp2p behaviour and the construction of the swarm.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::transport::TransportError;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self as rr, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, StreamProtocol, Swarm, SwarmBuilder};

use crate::admission::Admission;
use crate::codec::FrameCodec;
use crate::config::{block_request_protocol, message_protocol, Channel, NetworkConfig};
use crate::error::NetworkError;
use crate::handle::Shared;
use crate::members::Members;

/// Time allowed for the listener to report its bound address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections stay open while idle. Only a disconnect, a transport error or a rejection
/// closes them.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(u64::MAX);

/// Admission comes first, so a rejected connection never reaches the protocol behaviours.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub admission: Admission,
    pub consensus: rr::Behaviour<FrameCodec>,
    pub transaction: rr::Behaviour<FrameCodec>,
    pub block_sync: rr::Behaviour<FrameCodec>,
    pub block_request: rr::Behaviour<FrameCodec>,
}

impl Behaviour {
    fn new(config: &NetworkConfig, members: Arc<Members>, shared: Arc<Shared>) -> Result<Self, NetworkError> {
        let codec = FrameCodec::new(config.max_frame_bytes);
        let rr_config = rr::Config::default().with_request_timeout(config.tuning.request_timeout);
        let protocol = |name: String| {
            StreamProtocol::try_from_owned(name)
                .map_err(|_| NetworkError::InvalidChainTag { tag: config.chain_tag.clone() })
        };
        let behaviour_for = |name: String| -> Result<rr::Behaviour<FrameCodec>, NetworkError> {
            let protocols = [(protocol(name)?, ProtocolSupport::Full)];
            Ok(rr::Behaviour::with_codec(codec, protocols, rr_config.clone()))
        };

        let tag = &config.chain_tag;
        Ok(Behaviour {
            admission: Admission::new(members, shared),
            consensus: behaviour_for(message_protocol(tag, Channel::Consensus))?,
            transaction: behaviour_for(message_protocol(tag, Channel::Transaction))?,
            block_sync: behaviour_for(message_protocol(tag, Channel::BlockSync))?,
            block_request: behaviour_for(block_request_protocol(tag))?,
        })
    }

    pub fn channel(&mut self, channel: Channel) -> &mut rr::Behaviour<FrameCodec> {
        match channel {
            Channel::Consensus => &mut self.consensus,
            Channel::Transaction => &mut self.transaction,
            Channel::BlockSync => &mut self.block_sync,
        }
    }
}

/// Builds a tokio swarm on TCP with noise and yamux.
pub(crate) fn build_swarm(
    config: &NetworkConfig,
    members: Arc<Members>,
    shared: Arc<Shared>,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let behaviour = Behaviour::new(config, members, shared)?;
    let swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|error| NetworkError::Transport { reason: error.to_string() })?
        .with_behaviour(|_| behaviour)
        .map_err(|error| NetworkError::Transport { reason: error.to_string() })?
        .with_swarm_config(|swarm_config| swarm_config.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    Ok(swarm)
}

/// Starts listening on `addr` and returns the bound address.
pub(crate) async fn listen(swarm: &mut Swarm<Behaviour>, addr: SocketAddr) -> Result<SocketAddr, NetworkError> {
    // libp2p-tcp 0.44 sets SO_REUSEPORT on listeners, so a second libp2p process could bind
    // the same port and silently share its connections. A plain bind without SO_REUSEPORT
    // fails while any process listens there, which reports the port as in use.
    // NOTE: another process can still take the port between this probe and `listen_on`.
    if addr.port() != 0 {
        std::net::TcpListener::bind(addr).map_err(|source| NetworkError::Listen { addr, source })?;
    }

    swarm.listen_on(to_multiaddr(addr)).map_err(|error| {
        let source = match error {
            TransportError::Other(source) => source,
            TransportError::MultiaddrNotSupported(multiaddr) => {
                std::io::Error::other(format!("address {multiaddr} is not supported"))
            }
        };
        NetworkError::Listen { addr, source }
    })?;

    let bound = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                SwarmEvent::ListenerError { error, .. } | SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                    return Err(NetworkError::Listen { addr, source: error });
                }
                _ => {}
            }
        }
    };
    let address = tokio::time::timeout(LISTEN_TIMEOUT, bound)
        .await
        .map_err(|_| NetworkError::ListenTimeout { addr, timeout: LISTEN_TIMEOUT })??;

    let port = address
        .iter()
        .find_map(|protocol| match protocol {
            Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap_or(addr.port());
    tracing::info!(%address, "listening");
    Ok(SocketAddr::new(addr.ip(), port))
}

pub(crate) fn to_multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::from(addr.ip()).with(Protocol::Tcp(addr.port()))
}
