//! `orgadm.v1.TokenService`: the token exchange, token verification and the signing
//! certificates. Served without the authentication wrapper: no client credentials are needed.

use std::net::SocketAddr;

use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::pb::{self, token_service_server::TokenService};
use crate::service::Core;
use crate::service::tokens::ExchangeRequest;
use crate::transport::credentials;

/// Largest request of this service (a signature with its certificates is a few KiB).
pub const MAX_TOKEN_MESSAGE_BYTES: usize = 64 * 1024;

pub struct TokenApi {
    pub core: Core,
}

/// The peer's IP: axum's connect info on the shared listener, tonic's own otherwise.
fn client_addr<T>(req: &Request<T>) -> String {
    req.extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .or_else(|| req.remote_addr().map(|a| a.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

#[tonic::async_trait]
impl TokenService for TokenApi {
    async fn exchange_api_key(
        &self,
        req: Request<pb::ExchangeApiKeyRequest>,
    ) -> Result<Response<pb::ExchangeApiKeyResponse>, Status> {
        let client_addr = client_addr(&req);
        let request_id = credentials::request_id(req.metadata().as_ref());
        let pb::ExchangeApiKeyRequest { api_key, signature } = req.into_inner();
        let t = self
            .core
            .exchange_api_key(ExchangeRequest {
                api_key,
                signature,
                client_addr,
                request_id,
            })
            .await?;
        Ok(Response::new(pb::ExchangeApiKeyResponse {
            access_token: t.token,
            sid: t.issuance.sid,
            expire_time: timestamp(&t.issuance.expires_at),
        }))
    }

    async fn verify_token(
        &self,
        req: Request<pb::VerifyTokenRequest>,
    ) -> Result<Response<pb::VerifyTokenResponse>, Status> {
        let pb::VerifyTokenRequest { token } = req.into_inner();
        let v = self.core.verify_token(&token).await?;
        let (reason, message) = v
            .invalid
            .map(|(r, m)| (r.to_owned(), m))
            .unwrap_or_default();
        Ok(Response::new(pb::VerifyTokenResponse {
            valid: reason.is_empty(),
            reason,
            message,
            esia_code: v.esia_code.unwrap_or_default().to_owned(),
            header_json: v.header.map(|h| h.to_string()).unwrap_or_default(),
            claims_json: v.claims.map(|c| c.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_signing_certificates(
        &self,
        _req: Request<pb::GetSigningCertificatesRequest>,
    ) -> Result<Response<pb::GetSigningCertificatesResponse>, Status> {
        Ok(Response::new(pb::GetSigningCertificatesResponse {
            certificates: self
                .core
                .token_certificates()
                .iter()
                .map(|c| c.der().to_vec())
                .collect(),
        }))
    }
}
