//! The server under test, run as its own process from the release binary: `migrate` and
//! `create-admin` first, then `serve`, timed from spawn to the first 200 from `/ready/`.
//! Its peak resident memory is read from /proc before it is stopped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// How long a server may take to answer `/ready/` before the run gives up.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit before it is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// How to run the service's binary against one database.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bin: PathBuf,
    pub database_url: String,
    pub pool_size: usize,
    /// Where the server's stdout and stderr go (shown when something fails).
    pub log_path: PathBuf,
}

impl ServerConfig {
    /// The binary with the bench's environment: rate limits off (the bench is one
    /// client IP sending far more than a person would), warnings only, the pool size
    /// given explicitly so the pgbench ceiling uses the same number of connections.
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .arg(subcommand)
            .env("APP_ENV", "development")
            .env("DATABASE_URL", &self.database_url)
            .env("APP__DATABASE__POOL_SIZE", self.pool_size.to_string())
            .env("APP__RATE_LIMIT__AUTH_PER_MINUTE", "0")
            .env("APP__RATE_LIMIT__BOOKINGS_PER_MINUTE", "0")
            .env("APP__LOG__LEVEL", "warn")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs a one-shot subcommand (`migrate`, `create-admin ...`) to completion.
    pub async fn run_once(&self, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
        let Some((subcommand, rest)) = args.split_first() else {
            bail!("no subcommand given");
        };
        let mut command = self.command(subcommand);
        command.args(rest);
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command
            .output()
            .await
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        if !output.status.success() {
            bail!(
                "`movie-booking {}` failed ({}): {}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Starts `serve` on `port` and waits for its first 200 from `/ready/`.
    pub async fn start(&self, port: u16) -> anyhow::Result<Server> {
        let log = std::fs::File::create(&self.log_path)
            .with_context(|| format!("cannot create {}", self.log_path.display()))?;
        let log_err = log.try_clone().context("cannot share the server log")?;
        let mut command = self.command("serve");
        command
            .env("APP__SERVER__HOST", "127.0.0.1")
            .env("APP__SERVER__PORT", port.to_string())
            .stdout(log)
            .stderr(log_err);
        // A plain client, not the load generator's pool: each poll may be refused.
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .context("cannot build the readiness client")?;
        let base = format!("http://127.0.0.1:{port}");
        let ready_url = format!("{base}/ready/");

        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {} serve", self.bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        loop {
            if let Some(status) = child.try_wait().context("cannot watch the server")? {
                bail!(
                    "the server exited before it was ready ({status}):\n{}",
                    log_tail(&self.log_path)
                );
            }
            if let Ok(response) = probe.get(&ready_url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    break;
                }
            }
            if started.elapsed() > READY_DEADLINE {
                bail!(
                    "the server was not ready within {READY_DEADLINE:?}:\n{}",
                    log_tail(&self.log_path)
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let ready = started.elapsed();
        Ok(Server {
            child,
            pid,
            base,
            ready,
            log_path: self.log_path.clone(),
        })
    }
}

/// A running `movie-booking serve`; killed if dropped without [`Server::stop`].
pub struct Server {
    child: Child,
    pid: u32,
    pub base: String,
    /// From spawn to the first 200 from `/ready/`.
    pub ready: Duration,
    log_path: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process's peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        status_kib(self.pid, "VmHWM")
    }

    /// The process's resident set now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        status_kib(self.pid, "VmRSS")
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    /// SIGTERM (a graceful stop), then SIGKILL if it takes too long.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if sent.is_ok_and(|status| status.success()) {
            if let Ok(waited) = tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await {
                waited.context("cannot wait for the server")?;
                return Ok(());
            }
        }
        self.child.kill().await.context("cannot kill the server")
    }
}

/// A `kB` field of /proc/<pid>/status.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} line in {path}"))
}

/// The highest VmRSS of a process, read every 20 ms until stopped: VmHWM only grows
/// over the whole run, this is the peak of one stretch of it.
pub struct RssSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Option<u64>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = None;
            loop {
                if let Ok(kib) = status_kib(pid, "VmRSS") {
                    peak = peak.max(Some(kib));
                }
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Option<u64> {
        let _ = self.stop.send(());
        self.task.await.ok().flatten()
    }
}

/// The last lines of a log file, or why it could not be read.
fn log_tail(path: &std::path::Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(20);
            lines[from..].join("\n")
        }
        Err(error) => format!("(no server log at {}: {error})", path.display()),
    }
}

/// A port that was free a moment ago; the server binds it right after.
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free local port")?;
    Ok(listener.local_addr()?.port())
}
