//! Transports: gRPC (tonic) and HTTP (axum) on one listener. Transports call the service layer
//! only; they never touch storage.
pub mod credentials;
pub mod grpc;
pub mod http;
pub mod observe;
pub mod server;
pub mod tls;
