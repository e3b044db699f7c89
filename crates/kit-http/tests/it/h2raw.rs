//! HTTP/2 written and read frame by frame, for clients that misbehave on purpose (RFC 9113
//! section 4 frame layout; the one header block used is HPACK-encoded by hand).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const WINDOW_UPDATE: u8 = 0x8;

pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;

pub(crate) const CANCEL: u32 = 0x8;
pub(crate) const ENHANCE_YOUR_CALM: u32 = 0xb;

/// `GET http://x/`: `:method GET`, `:scheme http`, `:path /` from the static table, and
/// `:authority x` as a literal without indexing.
pub(crate) const GET_ROOT: &[u8] = &[0x82, 0x86, 0x84, 0x01, 0x01, b'x'];

/// One frame.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: u8,
    #[allow(dead_code)]
    pub(crate) flags: u8,
    pub(crate) stream: u32,
    pub(crate) payload: Vec<u8>,
}

impl Frame {
    /// The settings of a SETTINGS frame, as (identifier, value).
    pub(crate) fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|s| {
                (
                    u16::from_be_bytes([s[0], s[1]]),
                    u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
                )
            })
            .collect()
    }

    /// The error code of a GOAWAY frame.
    pub(crate) fn goaway_code(&self) -> u32 {
        u32::from_be_bytes(self.payload[4..8].try_into().unwrap())
    }
}

/// The bytes of a frame.
pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut bytes = vec![len[1], len[2], len[3], kind, flags];
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Connects, sends the preface and empty SETTINGS, and acknowledges the server's.
pub(crate) async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    hello.extend(frame(SETTINGS, 0x1, 0, &[]));
    stream.write_all(&hello).await.unwrap();
    stream
}

/// Reads the next frame; `None` once the connection is closed (or reset).
pub(crate) async fn read_frame(stream: &mut TcpStream) -> Option<Frame> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await.ok()?;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff,
        payload,
    })
}

/// Reads frames until one of `kind` (returned), within `limit`.
pub(crate) async fn read_until(stream: &mut TcpStream, kind: u8, limit: Duration) -> Frame {
    tokio::time::timeout(limit, async {
        loop {
            match read_frame(stream).await {
                Some(frame) if frame.kind == kind => return frame,
                Some(_) => {}
                None => panic!("the connection closed before a frame of type {kind}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no frame of type {kind} within {limit:?}"))
}
