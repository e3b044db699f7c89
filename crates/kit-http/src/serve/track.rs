//! What one connection's parts share: its peer, how many requests are in flight, which
//! phase it is in (reading a request head, or idle between requests), whether bytes are
//! moving, and the commands the supervisor gives it.
//!
//! The parts that write it run on the request path, so each update is an atomic operation
//! or two on memory no other connection touches: no clock, no timer, no lock. The
//! [supervisor](super::supervise) reads it a few times a second and keeps the clock.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker, ready};

use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use kit::BoxError;
use kit::context::Peer;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::graceful::Control;

/// Reading a request head (or, before the first request, the protocol preface): the
/// header read timeout runs.
pub(crate) const HEADER: u32 = 0;
/// No request in flight and nothing of the next one read: the idle timeout runs.
pub(crate) const IDLE: u32 = 1;
const PHASE_BITS: u32 = 0b11;
/// Added to the phase word on every change, so that a change back to the same phase
/// between two looks of the supervisor still shows.
const EPOCH: u32 = PHASE_BITS + 1;

/// The state one connection's parts share with each other and with the supervisor.
#[derive(Debug)]
pub(crate) struct ConnShared {
    pub(crate) peer: Arc<Peer>,
    pub(crate) control: Control,
    /// Requests whose service was called and whose response body has not been dropped.
    in_flight: AtomicUsize,
    /// The phase in the low bits, and an epoch above them bumped on every change.
    phase: AtomicU32,
    /// Bumped on every read or write that moved bytes. Only the connection's task writes
    /// it, so a load and a store suffice.
    io: AtomicU32,
}

impl ConnShared {
    /// A connection just accepted from `peer`: reading its first request head.
    pub(crate) fn new(peer: Arc<Peer>) -> ConnShared {
        ConnShared {
            peer,
            control: Control::default(),
            in_flight: AtomicUsize::new(0),
            phase: AtomicU32::new(HEADER),
            io: AtomicU32::new(0),
        }
    }

    /// The phase word: [`phase_of`] gives the phase; any change of the word is a change of
    /// phase.
    pub(crate) fn phase_word(&self) -> u32 {
        self.phase.load(Ordering::Acquire)
    }

    pub(crate) fn set_phase(&self, phase: u32) {
        let word = self.phase.load(Ordering::Acquire);
        let next = (word & !PHASE_BITS).wrapping_add(EPOCH) | phase;
        self.phase.store(next, Ordering::Release);
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// A count that changes whenever bytes moved either way.
    pub(crate) fn io_count(&self) -> u32 {
        self.io.load(Ordering::Relaxed)
    }

    /// Bytes were read. On HTTP/1 the first bytes after an idle spell begin the next
    /// request's head (on HTTP/2 they may be pings and window updates: idle stays idle until
    /// a stream opens).
    pub(crate) fn read_some(&self, http1: bool) {
        self.moved();
        if http1 && self.phase_word() & PHASE_BITS == IDLE {
            self.set_phase(HEADER);
        }
    }

    pub(crate) fn moved(&self) {
        let n = self.io.load(Ordering::Relaxed);
        self.io.store(n.wrapping_add(1), Ordering::Relaxed);
    }
}

/// The phase in a [`ConnShared::phase_word`].
pub(crate) fn phase_of(word: u32) -> u32 {
    word & PHASE_BITS
}

/// One request in flight on a connection, from the call of its service until its response
/// body is dropped (written out, or abandoned). While a request is in flight no timeout of
/// the connection runs; when the last one ends, the connection turns idle.
///
/// While the request's response future is polled, it is also the [`CURRENT`] request of the
/// thread, which is how code serving the request finds its peer
/// ([`current_peer`](crate::accept::current_peer)).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<ConnShared>);

impl InFlight {
    pub(crate) fn start(shared: &Arc<ConnShared>) -> InFlight {
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(shared.clone())
    }

    pub(crate) fn peer(&self) -> &Arc<Peer> {
        &self.0.peer
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.set_phase(IDLE);
        }
    }
}

/// The hyper service of one connection: the protocol's tower service, with every request
/// counted in flight and served inside the scope that makes its peer visible.
pub(crate) struct ConnService<S> {
    service: S,
    shared: Arc<ConnShared>,
}

impl<S> ConnService<S> {
    pub(crate) fn new(service: S, shared: Arc<ConnShared>) -> ConnService<S> {
        ConnService { service, shared }
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for ConnService<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error: Into<BoxError>> + Clone,
{
    type Response = Response<TrackedBody<B>>;
    type Error = BoxError;
    type Future = Tracked<S>;

    fn call(&self, request: Request<Incoming>) -> Tracked<S> {
        // A tower service is called after it says it is ready. Asking once with a waker that
        // does nothing finds kit's routers and servers (always ready) ready at once, so they
        // are called here, with no readiness state to carry; a service that is not ready is
        // asked again with the task's own waker when the future is polled (tower allows
        // asking repeatedly; the last waker given is the one woken).
        let mut service = self.service.clone();
        // The service's `call` sees its request's peer too.
        let scope = Scope::enter(Some(InFlight::start(&self.shared)));
        let call = match service.poll_ready(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(())) => Call::Called {
                future: service.call(request),
            },
            Poll::Ready(Err(err)) => Call::Failed {
                err: Some(err.into()),
            },
            Poll::Pending => Call::Waiting {
                service,
                request: Some(request),
            },
        };
        Tracked {
            in_flight: scope.leave(),
            call,
        }
    }
}

pin_project! {
    /// Where the call of a [`ConnService`]'s tower service is.
    #[project = CallProj]
    pub(crate) enum Call<S>
    where
        S: Service<Request<Incoming>>,
    {
        /// Waiting for the service to be ready.
        Waiting { service: S, request: Option<Request<Incoming>> },
        /// Called; its future runs.
        Called { #[pin] future: S::Future },
        /// The service failed before it was called.
        Failed { err: Option<BoxError> },
    }
}

impl<S, B> Future for Call<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error: Into<BoxError>>,
{
    type Output = Result<Response<B>, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let future = match self.as_mut().project() {
                CallProj::Called { future } => return future.poll(cx).map_err(Into::into),
                CallProj::Failed { err } => {
                    return Poll::Ready(Err(err.take().expect("a Call is polled after it failed")));
                }
                CallProj::Waiting { service, request } => {
                    ready!(service.poll_ready(cx)).map_err(Into::into)?;
                    let request = request.take().expect("a request is called once");
                    service.call(request)
                }
            };
            self.set(Call::Called { future });
        }
    }
}

thread_local! {
    /// The request whose response future this thread is polling, if any.
    static CURRENT: Cell<Option<InFlight>> = const { Cell::new(None) };
}

/// The peer of the request whose response future is being polled on this thread.
pub(crate) fn current_peer() -> Option<Arc<Peer>> {
    CURRENT
        .try_with(|current| {
            let request = current.take();
            let peer = request.as_ref().map(|r| r.peer().clone());
            current.set(request);
            peer
        })
        .ok()
        .flatten()
}

/// Makes a request the thread's [`CURRENT`] one until [`leave`](Scope::leave) (or a panic)
/// puts back the one before.
///
/// tokio's `task_local!` does the same (a thread-local swapped in around each poll); this
/// one is specialised to one value that moves in and out, and costs about a quarter of the
/// instructions per request (measured on addsvc's `/sum`: some 240 of tokio's
/// `TaskLocalFuture`, most of it moving the larger future it makes, against about 60).
struct Scope {
    previous: Option<Option<InFlight>>,
}

impl Scope {
    fn enter(request: Option<InFlight>) -> Scope {
        Scope {
            previous: CURRENT.try_with(|current| current.replace(request)).ok(),
        }
    }

    /// Ends the scope and hands back the request it was entered with.
    fn leave(mut self) -> Option<InFlight> {
        let previous = self.previous.take()?;
        CURRENT
            .try_with(|current| current.replace(previous))
            .ok()
            .flatten()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Unwinding from the poll: the request (dropped here) is over either way.
        if let Some(previous) = self.previous.take() {
            let _ = CURRENT.try_with(|current| current.replace(previous));
        }
    }
}

pin_project! {
    /// The response future of a [`ConnService`]: the service's, polled as the thread's
    /// current request; the [`InFlight`] moves into the response body when it is ready.
    pub(crate) struct Tracked<S>
    where
        S: Service<Request<Incoming>>,
    {
        #[pin]
        call: Call<S>,
        in_flight: Option<InFlight>,
    }
}

impl<S, B> Future for Tracked<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error: Into<BoxError>>,
{
    type Output = Result<Response<TrackedBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let scope = Scope::enter(this.in_flight.take());
        let polled = this.call.poll(cx);
        *this.in_flight = scope.leave();
        let response = ready!(polled)?;
        let in_flight = this
            .in_flight
            .take()
            .expect("a request's InFlight is taken once, when its response is ready");
        Poll::Ready(Ok(response.map(|body| TrackedBody { body, in_flight })))
    }
}

pin_project! {
    /// A response body that keeps its request in flight until it is dropped.
    pub(crate) struct TrackedBody<B> {
        #[pin]
        body: B,
        in_flight: InFlight,
    }
}

impl<B: HttpBody> HttpBody for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Arc<ConnShared> {
        Arc::new(ConnShared::new(Arc::new(Peer::new(
            "127.0.0.1:1".parse().unwrap(),
        ))))
    }

    #[test]
    fn the_last_request_to_end_makes_the_connection_idle() {
        let shared = shared();
        let start = shared.phase_word();
        let (a, b) = (InFlight::start(&shared), InFlight::start(&shared));
        assert_eq!(shared.in_flight(), 2);
        drop(a);
        assert_eq!(shared.phase_word(), start, "one request is still in flight");
        drop(b);
        assert_eq!(shared.in_flight(), 0);
        assert_eq!(phase_of(shared.phase_word()), IDLE);
    }

    #[test]
    fn on_http1_the_first_bytes_after_idle_start_a_head_and_on_http2_they_do_not() {
        let shared = shared();
        drop(InFlight::start(&shared));
        let idle = shared.phase_word();
        shared.read_some(false);
        assert_eq!(
            shared.phase_word(),
            idle,
            "HTTP/2: pings do not end idleness"
        );
        let io = shared.io_count();
        shared.read_some(true);
        assert_eq!(phase_of(shared.phase_word()), HEADER);
        assert_ne!(shared.io_count(), io);
        // Going idle and back again between two looks still changes the word.
        let header = shared.phase_word();
        drop(InFlight::start(&shared));
        shared.read_some(true);
        assert_ne!(shared.phase_word(), header);
        assert_eq!(phase_of(shared.phase_word()), HEADER);
    }
}
