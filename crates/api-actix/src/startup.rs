//! Building and running the server: connect, migrate, wire, listen.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::HttpServer;
use anyhow::Context;
use infra_diesel::{redact_url, Database};
use paperclip::actix::web;

use crate::app::build_app;
use crate::settings::Settings;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    database: Database,
}

impl Application {
    /// Connects, applies pending migrations and binds the listener; `run` serves.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.check().map_err(anyhow::Error::msg)?;
        let database = connect_and_migrate(&settings).await?;
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        Self::with_listener(settings, database, listener)
    }

    pub fn with_listener(
        settings: Settings,
        database: Database,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState::new(&settings, database.clone())?);
        let server_settings = settings.server.clone();
        let http = server_settings.clone();
        let mut server = HttpServer::new(move || build_app(state.clone(), &http))
            .client_request_timeout(Duration::from_secs(server_settings.request_timeout_seconds))
            .keep_alive(Duration::from_secs(server_settings.keep_alive_seconds))
            .shutdown_timeout(server_settings.shutdown_timeout_seconds);
        if server_settings.workers > 0 {
            server = server.workers(server_settings.workers);
        }
        let server = if settings.tls_enabled() {
            server.listen_rustls_0_23(listener, tls_config(&settings)?)?
        } else {
            server.listen(listener)?
        }
        .run();
        Ok(Self {
            port,
            server,
            database,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM (or a stop), letting in-flight requests finish.
    pub async fn run(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.database.close();
        result
    }
}

/// Opens the pool and applies pending migrations.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Database> {
    let url = redact_url(&settings.database.url);
    let database = Database::connect(&settings.database.store_settings())
        .with_context(|| format!("cannot open the database {url}"))?;
    database
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database {url}"))?;
    Ok(database)
}

/// rustls with ring, from the PEM certificate chain and private key in the settings.
fn tls_config(settings: &Settings) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (cert_path, key_path) = (
        &settings.server.tls_cert_path,
        &settings.server.tls_key_path,
    );
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the TLS certificate chain {cert_path}"))?;
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read the TLS private key {key_path}"))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
