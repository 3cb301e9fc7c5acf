//! The command line: `serve` (default), `migrate`, `create-admin`, `seed-demo`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Duration, Timelike, Utc};
use clap::{Parser, Subcommand};
use domain::{AuthUser, MovieInput, ShowInput, SignupInput};
use tracing_subscriber::EnvFilter;

use crate::settings::Settings;
use crate::startup::{database_for_logs, Application, Storage};
use crate::state::AppState;

#[derive(Parser)]
#[command(name = "movie-booking", version, about = "Cinema seat booking service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a staff account. The password comes from MOVIE_BOOKING_ADMIN_PASSWORD or
    /// is asked on the terminal.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
    },
    /// Add a few movies and upcoming shows, only if the catalogue is empty.
    SeedDemo,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("movie-booking: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("movie-booking: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::CreateAdmin { username, email } => {
                create_admin(settings, username, email).await
            }
            Command::SeedDemo => seed_demo(settings).await.map(|_| ()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("movie-booking: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(settings: &Settings) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let (host, env) = (settings.server.host.clone(), settings.env.clone());
    let backend_url = database_for_logs(&settings);
    let app = Application::build(settings).await?;
    tracing::info!(%env, database = %backend_url, "listening on http://{host}:{}/", app.port());
    app.run().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    Storage::open(&settings).await?.close();
    println!("migrations applied");
    Ok(())
}

async fn create_admin(
    settings: Settings,
    username: String,
    email: Option<String>,
) -> anyhow::Result<()> {
    let password = match std::env::var("MOVIE_BOOKING_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) => ask_password()?,
    };
    let storage = Storage::open(&settings).await?;
    let state = storage.wire(&settings)?;
    let user = state
        .accounts
        .create_admin(SignupInput {
            username,
            password,
            email,
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the admin: {e}"))?;
    storage.close();
    println!("staff user {:?} created (id {})", user.username, user.id);
    Ok(())
}

fn ask_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    anyhow::ensure!(
        stdin.is_terminal(),
        "set MOVIE_BOOKING_ADMIN_PASSWORD, or run on a terminal to be asked"
    );
    let read = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("read the password")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let first = read("Password: ")?;
    let second = read("Password (again): ")?;
    anyhow::ensure!(first == second, "the passwords do not match");
    Ok(first)
}

/// Seeds a small catalogue; returns how many shows were added (0 if there was one).
pub async fn seed_demo(settings: Settings) -> anyhow::Result<usize> {
    let storage = Storage::open(&settings).await?;
    let state = storage.wire(&settings)?;
    let added = seed_catalogue(&state).await?;
    storage.close();
    if added == 0 {
        println!("the catalogue is not empty: nothing seeded");
    } else {
        println!("seeded {added} shows");
    }
    Ok(added)
}

pub async fn seed_catalogue(state: &AppState) -> anyhow::Result<usize> {
    let existing = state
        .catalog
        .list_movies(Some(1), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if existing.total > 0 {
        return Ok(0);
    }
    // Seeding runs with staff rights without a staff account.
    let seeder = AuthUser {
        id: domain::UserId(0),
        username: "seed-demo".into(),
        is_staff: true,
    };
    let movies = [
        (
            "Inception",
            "A thief who steals corporate secrets through dreams.",
            148,
        ),
        (
            "Spirited Away",
            "A girl wanders into a world of spirits.",
            125,
        ),
        ("The Matrix", "A hacker learns what reality is.", 136),
    ];
    let tomorrow = (Utc::now() + Duration::days(1))
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or_else(Utc::now);
    let mut added = 0;
    for (i, (title, description, minutes)) in movies.into_iter().enumerate() {
        let movie = state
            .catalog
            .create_movie(
                &seeder,
                MovieInput {
                    title: Some(title.into()),
                    description: Some(description.into()),
                    duration_minutes: Some(minutes),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (j, screen) in ["Screen 1", "Screen 2"].into_iter().enumerate() {
            state
                .catalog
                .create_show(
                    &seeder,
                    ShowInput {
                        movie_id: Some(movie.id.0),
                        screen_name: Some(screen.into()),
                        start_time: Some(tomorrow + Duration::hours((3 * i + 5 * j) as i64)),
                        total_seats: Some(50),
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            added += 1;
        }
    }
    Ok(added)
}
