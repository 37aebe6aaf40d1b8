//! Authentication as a tower service wrapped around each orgadm.v1 service (health and
//! reflection are left open): resolves `authorization: Bearer …` (or, over mutual TLS, the
//! client certificate of the connection) and `x-orgadm-person` to a [`Caller`] in the request's
//! extensions, or answers UNAUTHENTICATED. The request id and the request's tracing span come
//! from `transport::observe`; the caller's name is recorded on it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::NamedService;
use tonic::{Request, Status};
use tower::Service;

use crate::domain::caller::Caller;
use crate::service::Core;
use crate::transport::credentials;

/// Wraps a generated tonic server with authentication.
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    core: Core,
}

impl<S> Authenticated<S> {
    pub fn new(core: Core, inner: S) -> Self {
        Self { inner, core }
    }
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Authenticated<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // Take the service that was polled ready; leave a clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let core = self.core.clone();
        let request_id = credentials::request_id(req.headers());
        Box::pin(async move {
            let bearer = credentials::bearer(req.headers());
            let person = match credentials::acting_person(req.headers()) {
                Ok(p) => p,
                Err(e) => return Ok(Status::from(e).into_http()),
            };
            let certificate = credentials::client_certificate(req.extensions());
            match core
                .authenticate_presented(bearer, certificate, person, request_id)
                .await
            {
                Ok(caller) => {
                    crate::transport::observe::record_caller(&caller);
                    req.extensions_mut().insert(caller);
                    inner.call(req).await
                }
                Err(e) => Ok(Status::from(e).into_http()),
            }
        })
    }
}

/// The authenticated caller the wrapper put into the request.
pub fn caller<T>(req: &Request<T>) -> Result<Caller, Status> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing bearer credentials"))
}
