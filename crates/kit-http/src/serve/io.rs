//! The socket of one connection, as hyper sees it: it reports moved bytes to the
//! connection's [`ConnShared`], and reads the HTTP/2 preface to tell the protocols apart.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::track::ConnShared;

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection's socket.
#[derive(Debug)]
pub(crate) struct Io {
    stream: TcpStream,
    shared: Arc<ConnShared>,
    /// The bytes read while looking for the preface, handed to hyper before any other.
    start: [u8; PREFACE.len()],
    /// `start[replayed..read]` is still to be handed to hyper.
    replayed: usize,
    read: usize,
    http1: bool,
}

impl Io {
    pub(crate) fn new(stream: TcpStream, shared: Arc<ConnShared>) -> Io {
        Io {
            stream,
            shared,
            start: [0; PREFACE.len()],
            replayed: 0,
            read: 0,
            http1: false,
        }
    }

    pub(crate) fn shared(&self) -> &Arc<ConnShared> {
        &self.shared
    }

    /// From now on the connection speaks HTTP/1: bytes read after an idle spell begin a
    /// request head.
    pub(crate) fn speak_http1(&mut self) {
        self.http1 = true;
    }

    /// Reads until the client has sent the HTTP/2 preface (`true`) or something else
    /// (`false`, also for a connection closed first). The bytes read are kept and read
    /// again by whoever reads next. As with hyper-util's `auto` builder, a client that
    /// sends a prefix of the preface and stops is waited for; the header read timeout
    /// bounds the wait.
    pub(crate) fn poll_preface(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        while self.read < PREFACE.len() {
            let from = self.read;
            let mut buf = ReadBuf::new(&mut self.start[from..]);
            ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
            let got = buf.filled().len();
            if got == 0 {
                return Poll::Ready(Ok(false));
            }
            self.shared.moved();
            self.read += got;
            if self.start[from..self.read] != PREFACE[from..self.read] {
                return Poll::Ready(Ok(false));
            }
        }
        Poll::Ready(Ok(true))
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replayed < this.read {
            let kept = &this.start[this.replayed..this.read];
            let n = kept.len().min(buf.remaining());
            buf.put_slice(&kept[..n]);
            this.replayed += n;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() != before {
            this.shared.read_some(this.http1);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        this.shared.moved();
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.stream).poll_write_vectored(cx, bufs))?;
        this.shared.moved();
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
