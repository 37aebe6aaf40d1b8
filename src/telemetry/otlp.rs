//! The OTLP/HTTP trace exporter. The SDK's batch processor exports from its own thread with a
//! plain `block_on`, while hyper's client needs a tokio runtime: [`OnRuntime`] runs each export
//! request on the server's runtime and hands the answer back (opentelemetry-http's own client
//! types assume the caller is on a runtime; this small adapter is what no crate provides).

use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use super::TelemetryArgs;

/// The traces URL of an OTLP/HTTP endpoint: `/v1/traces` appended to a base URL.
pub(super) fn traces_url(endpoint: &str) -> anyhow::Result<String> {
    let e = endpoint.trim();
    if !(e.starts_with("http://") || e.starts_with("https://")) {
        anyhow::bail!("--otlp-endpoint must be an http:// URL, not {e:?}");
    }
    if e.starts_with("https://") {
        anyhow::bail!(
            "--otlp-endpoint: https is not supported; send to a collector on the same host or \
             network (http://…:4318) and let it forward over TLS"
        );
    }
    let url = if e.trim_end_matches('/').ends_with("/v1/traces") {
        e.trim_end_matches('/').to_owned()
    } else {
        format!("{}/v1/traces", e.trim_end_matches('/'))
    };
    url.parse::<http::Uri>()
        .map_err(|err| anyhow::anyhow!("--otlp-endpoint {e:?}: {err}"))?;
    Ok(url)
}

/// Sends each request on the tokio runtime the exporter was built on.
#[derive(Debug)]
struct OnRuntime {
    runtime: tokio::runtime::Handle,
    client: opentelemetry_http::hyper::HyperClient,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let r = self
            .runtime
            .spawn(async move { client.send_bytes(request).await })
            .await
            .map_err(|e| -> HttpError { Box::new(e) })?;
        match &r {
            Ok(resp) if !resp.status().is_success() => {
                tracing::warn!(status = %resp.status(), "the OTLP collector refused spans");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot export spans over OTLP"),
        }
        r
    }
}

/// The tracer provider exporting to `endpoint` in batches (the SDK's `OTEL_BSP_*` variables tune
/// the batches). Must be called on a tokio runtime.
pub(super) fn provider(endpoint: &str, t: &TelemetryArgs) -> anyhow::Result<SdkTracerProvider> {
    let url = traces_url(endpoint)?;
    let timeout = Duration::from_millis(t.otlp_timeout_ms);
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| anyhow::anyhow!("the OTLP exporter needs a tokio runtime"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .with_http_client(OnRuntime {
            runtime,
            client: opentelemetry_http::hyper::HyperClient::with_default_connector(timeout, None),
        })
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the OTLP exporter: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            t.otlp_sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(t.otlp_service_name.clone())
                .build(),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn traces_url_appends_the_signal_path_once() {
        assert_eq!(
            traces_url("http://c:4318").ok().as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert_eq!(
            traces_url("http://c:4318/").ok().as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces").ok().as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert!(traces_url("c:4318").is_err());
        assert!(traces_url("https://c:4318").is_err());
    }
}
