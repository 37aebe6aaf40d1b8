//! Telemetry settings and the process's tracing pipeline: log lines (text or JSON) on standard
//! error and, when an OTLP endpoint is configured, every request span exported to an
//! OpenTelemetry collector over OTLP/HTTP (protobuf). Metrics (`/metrics`) live in
//! `service::metrics`; the request spans are opened by `transport::observe`; slow queries are
//! logged by `storage::query_log`.
//!
//! The exporter runs on the OpenTelemetry SDK's batch thread and sends through hyper (already
//! the server's HTTP stack), driven on the server's tokio runtime (see `otlp::OnRuntime`): no
//! second HTTP client or TLS stack is linked in.

mod otlp;

use std::time::Duration;

use clap::Args;
use serde::Deserialize;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Observability settings of `orgadm serve`: flags, each also an `ORGADM_…` variable; `Deserialize`
/// (keys named like the fields, missing ones defaulted) so a configuration file can carry them.
#[derive(Debug, Clone, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryArgs {
    /// OTLP/HTTP collector to export traces to, e.g. `http://otel-collector:4318` (`/v1/traces`
    /// is appended unless the URL already ends with it). No endpoint (or an empty one): no
    /// traces are exported.
    #[arg(long, env = "ORGADM_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute of exported spans.
    #[arg(long, env = "ORGADM_OTLP_SERVICE_NAME", default_value = "orgadm")]
    pub otlp_service_name: String,
    /// The share of traces exported (0.0–1.0); a caller's sampled `traceparent` is followed.
    #[arg(long, env = "ORGADM_OTLP_SAMPLE_RATIO", default_value_t = 1.0)]
    pub otlp_sample_ratio: f64,
    /// How long one export may take, in milliseconds.
    #[arg(long, env = "ORGADM_OTLP_TIMEOUT_MS", default_value_t = 10_000)]
    pub otlp_timeout_ms: u64,
    /// Database statements slower than this many milliseconds are logged at WARN with their SQL
    /// text (never their bind values); 0 logs every statement.
    #[arg(long, env = "ORGADM_SLOW_QUERY_MS", default_value_t = 200)]
    pub slow_query_ms: u64,
}

impl Default for TelemetryArgs {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_service_name: "orgadm".into(),
            otlp_sample_ratio: 1.0,
            otlp_timeout_ms: 10_000,
            slow_query_ms: 200,
        }
    }
}

impl TelemetryArgs {
    /// The OTLP endpoint, if one is configured (an empty value counts as none).
    pub fn endpoint(&self) -> Option<&str> {
        self.otlp_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }

    /// The slow-statement threshold.
    pub fn slow_query(&self) -> Duration {
        Duration::from_millis(self.slow_query_ms)
    }

    /// Refuses settings that cannot work.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.otlp_sample_ratio) {
            anyhow::bail!(
                "--otlp-sample-ratio must be between 0 and 1, not {}",
                self.otlp_sample_ratio
            );
        }
        if self.otlp_timeout_ms == 0 {
            anyhow::bail!("--otlp-timeout-ms must be at least 1");
        }
        if let Some(e) = self.endpoint() {
            otlp::traces_url(e)?;
        }
        if self.otlp_service_name.trim().is_empty() {
            anyhow::bail!("--otlp-service-name must not be empty");
        }
        Ok(())
    }
}

/// The log format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => anyhow::bail!("--log-format must be text or json, not {other:?}"),
        }
    }
}

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] sends what is still buffered.
#[must_use = "dropping the guard loses buffered spans; call shutdown"]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still buffered and stops the exporter (off the async threads: the
    /// export itself runs on this runtime).
    pub async fn shutdown(self) {
        if let Some(p) = self.provider {
            let r = tokio::task::spawn_blocking(move || p.shutdown()).await;
            if let Ok(Err(e)) = r {
                tracing::warn!(error = %e, "could not export the last spans");
            }
        }
    }
}

/// Installs the global tracing subscriber: the `ORGADM_LOG` filter (default `info`), log lines
/// on standard error in `format`, and — when `telemetry` names an OTLP endpoint — the
/// OpenTelemetry layer exporting spans from this tokio runtime, with W3C `traceparent`
/// propagation.
pub fn init(format: LogFormat, telemetry: Option<&TelemetryArgs>) -> anyhow::Result<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORGADM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let provider = match telemetry {
        Some(t) => {
            t.check()?;
            match t.endpoint() {
                Some(endpoint) => Some(otlp::provider(endpoint, t)?),
                None => None,
            }
        }
        None => None,
    };
    let otel = provider.as_ref().map(|p| {
        use opentelemetry::trace::TracerProvider as _;
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer().with_tracer(p.tracer("orgadm"))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))?;
    if let (Some(t), Some(_)) = (telemetry, &provider) {
        tracing::info!(
            endpoint = %t.endpoint().unwrap_or_default(),
            sample_ratio = t.otlp_sample_ratio,
            "exporting traces over OTLP/HTTP"
        );
    }
    Ok(Telemetry { provider })
}
