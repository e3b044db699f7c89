//! One accepted socket served by hyper: HTTP/1 or HTTP/2, told apart by the HTTP/2
//! preface unless the server speaks only one of them.
//!
//! hyper-util's `auto` builder does the same; kit reads the preface itself so that the
//! server holds hyper's own `http1::Builder` and `http2::Builder` (reachable by users
//! through [`Serve::http1`](super::Serve::http1) and [`Serve::http2`](super::Serve::http2),
//! with every setting hyper has), and so that reading the preface counts as reading a
//! request head (the header read timeout bounds it; the `auto` builder waits forever).

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kit::BoxError;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::io::Io;
use super::track::{ConnService, IDLE};
use crate::graceful::Graceful;

/// Which HTTP versions a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Versions {
    /// HTTP/1.x, and HTTP/2 with prior knowledge (h2c).
    Both,
    Http1,
    Http2,
}

/// hyper's builders, configured; shared by all the connections of a server.
#[derive(Debug, Clone)]
pub(crate) struct Builders {
    pub(crate) http1: http1::Builder,
    pub(crate) http2: http2::Builder<TokioExecutor>,
    pub(crate) versions: Versions,
}

type Http1<S> = http1::Connection<TokioIo<Io>, ConnService<S>>;
type Http2<S> = http2::Connection<TokioIo<Io>, ConnService<S>, TokioExecutor>;

pin_project! {
    /// The hyper connection on one socket.
    pub(crate) struct Connection<S, B>
    where
        S: Service<Request<Incoming>, Response = Response<B>>,
        S: Clone,
        S: Send,
        S: 'static,
        S::Future: Send,
        S::Future: 'static,
        S::Error: Into<BoxError>,
        B: HttpBody,
        B: Send,
        B: 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<Incoming>, Response = Response<B>>,
        S: Clone,
        S: Send,
        S: 'static,
        S::Future: Send,
        S::Future: 'static,
        S::Error: Into<BoxError>,
        B: HttpBody,
        B: Send,
        B: 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        /// Reading the first bytes to see whether they are the HTTP/2 preface.
        Detecting {
            io: Option<Io>,
            service: Option<ConnService<S>>,
            builders: Arc<Builders>,
            shut_down: bool,
        },
        Http1 {
            #[pin]
            connection: Http1<S>,
        },
        Http2 {
            #[pin]
            connection: Http2<S>,
        },
    }
}

impl<S, B> Connection<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(io: Io, service: ConnService<S>, builders: &Arc<Builders>) -> Self {
        let state = match builders.versions {
            Versions::Http1 => http1_state(io, service, builders),
            Versions::Both | Versions::Http2 => State::Detecting {
                io: Some(io),
                service: Some(service),
                builders: builders.clone(),
                shut_down: false,
            },
        };
        Connection { state }
    }
}

fn http1_state<S, B>(mut io: Io, service: ConnService<S>, builders: &Builders) -> State<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    io.speak_http1();
    State::Http1 {
        connection: builders.http1.serve_connection(TokioIo::new(io), service),
    }
}

impl<S, B> Future for Connection<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = Result<(), Box<dyn StdError + Send + Sync>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Http1 { connection } => return connection.poll(cx).map_err(Into::into),
                StateProj::Http2 { connection } => return connection.poll(cx).map_err(Into::into),
                StateProj::Detecting {
                    io,
                    service,
                    builders,
                    shut_down,
                } => {
                    if *shut_down {
                        return Poll::Ready(Ok(()));
                    }
                    let reader = io
                        .as_mut()
                        .expect("io is taken only when leaving Detecting");
                    let preface = match reader.poll_preface(cx) {
                        Poll::Ready(Ok(preface)) => preface,
                        Poll::Ready(Err(err)) => return Poll::Ready(Err(err.into())),
                        Poll::Pending => return Poll::Pending,
                    };
                    let (io, service) = (io.take().unwrap(), service.take().unwrap());
                    // A server that speaks only HTTP/2 hands anything else to h2 as well,
                    // which answers it with a protocol error.
                    if preface || builders.versions == Versions::Http2 {
                        // The preface is a complete "head": from here on an HTTP/2
                        // connection with no stream open is idle.
                        io.shared().set_phase(IDLE);
                        State::Http2 {
                            connection: builders.http2.serve_connection(TokioIo::new(io), service),
                        }
                    } else {
                        http1_state(io, service, builders)
                    }
                }
            };
            state.set(next);
        }
    }
}

impl<S, B> Graceful for Connection<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        match self.project().state.project() {
            // Nothing has been served yet: close.
            StateProj::Detecting { shut_down, .. } => *shut_down = true,
            StateProj::Http1 { connection } => connection.graceful_shutdown(),
            StateProj::Http2 { connection } => connection.graceful_shutdown(),
        }
    }
}
