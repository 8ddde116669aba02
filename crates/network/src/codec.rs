//! Length-prefixed frames for request-response streams.
//!
//! A frame is a 4-byte big-endian payload length followed by the payload. Each stream
//! carries one request frame and one response frame. The reader checks the length against
//! `max_frame_bytes` before it allocates, so a peer cannot make the node reserve more memory
//! than the limit. An oversized frame is returned as [`Frame::Oversized`] rather than as an
//! I/O error, because libp2p-request-response 0.29 drops errors from `read_request` without
//! reporting the peer, and the network task must know whom to disconnect.

use std::io;

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use thiserror::Error;

/// A peer announced a frame above the configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("frame of {len} bytes exceeds max_frame_bytes {max}")]
pub struct FrameTooLarge {
    pub len: u64,
    pub max: u32,
}

impl FrameTooLarge {
    /// Finds a `FrameTooLarge` inside an I/O error returned by the codec.
    pub fn from_io(error: &io::Error) -> Option<FrameTooLarge> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<FrameTooLarge>()).copied()
    }
}

/// A request or response as read from or written to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A frame within the limit.
    Payload(Vec<u8>),
    /// A frame whose length prefix exceeded the limit. The reader stops after the prefix and
    /// allocates nothing. Only the reader produces this variant, and writing it is an
    /// `InvalidInput` error.
    Oversized(FrameTooLarge),
}

/// Codec of [`Frame`] requests and responses in length-prefixed frames.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max_frame_bytes: u32,
}

impl FrameCodec {
    pub fn new(max_frame_bytes: u32) -> Self {
        FrameCodec { max_frame_bytes }
    }
}

/// Reads one frame, rejecting a length above `max` before allocating the payload.
pub async fn read_frame<T>(io: &mut T, max: u32) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix);
    if len > max {
        let too_large = FrameTooLarge { len: u64::from(len), max };
        return Err(io::Error::new(io::ErrorKind::InvalidData, too_large));
    }

    let len = usize::try_from(len).map_err(io::Error::other)?;
    let mut payload = vec![0u8; len];
    io.read_exact(&mut payload).await?;
    Ok(payload)
}

/// Writes one frame. A payload above `max` is an `InvalidInput` error because the peer
/// would reject it.
pub async fn write_frame<T>(io: &mut T, payload: &[u8], max: u32) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let len = u32::try_from(payload.len()).ok().filter(|len| *len <= max);
    let Some(len) = len else {
        let len = u64::try_from(payload.len()).unwrap_or(u64::MAX);
        return Err(io::Error::new(io::ErrorKind::InvalidInput, FrameTooLarge { len, max }));
    };
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(payload).await?;
    io.flush().await
}

impl FrameCodec {
    async fn read<T>(&self, io: &mut T) -> io::Result<Frame>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_frame(io, self.max_frame_bytes).await {
            Ok(payload) => Ok(Frame::Payload(payload)),
            Err(error) => match FrameTooLarge::from_io(&error) {
                Some(too_large) => Ok(Frame::Oversized(too_large)),
                None => Err(error),
            },
        }
    }

    async fn write<T>(&self, io: &mut T, frame: Frame) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match frame {
            Frame::Payload(payload) => write_frame(io, &payload, self.max_frame_bytes).await,
            Frame::Oversized(too_large) => Err(io::Error::new(io::ErrorKind::InvalidInput, too_large)),
        }
    }
}

#[async_trait]
impl Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Frame;
    type Response = Frame;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Frame>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Frame>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read(io).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, request: Frame) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.write(io, request).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, response: Frame) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.write(io, response).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    #[tokio::test]
    async fn frame_round_trip() {
        let mut buffer = Cursor::new(Vec::new());
        write_frame(&mut buffer, b"hello", 16).await.unwrap();
        buffer.set_position(0);
        assert_eq!(read_frame(&mut buffer, 16).await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn oversized_prefix_rejected_before_payload() {
        let mut buffer = Cursor::new(u32::MAX.to_be_bytes().to_vec());
        let error = read_frame(&mut buffer, 16).await.unwrap_err();
        assert_eq!(FrameTooLarge::from_io(&error), Some(FrameTooLarge { len: u64::from(u32::MAX), max: 16 }));
    }

    #[tokio::test]
    async fn oversized_payload_not_written() {
        let mut buffer = Cursor::new(Vec::new());
        let error = write_frame(&mut buffer, &[0u8; 17], 16).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(buffer.get_ref().is_empty());
    }

    #[tokio::test]
    async fn codec_returns_oversized_frame() {
        let mut codec = FrameCodec::new(16);
        let protocol = StreamProtocol::new("/test/1");
        let mut stream = Cursor::new(17u32.to_be_bytes().to_vec());
        let frame = codec.read_request(&protocol, &mut stream).await.unwrap();
        assert_eq!(frame, Frame::Oversized(FrameTooLarge { len: 17, max: 16 }));
    }

    #[tokio::test]
    async fn truncated_payload_is_error() {
        let mut bytes = 8u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let error = read_frame(&mut Cursor::new(bytes), 16).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
