//! The command line: `serve` (default), `migrate`, `create-admin`, `seed-demo`.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Duration, Timelike, Utc};
use clap::{Parser, Subcommand};
use domain::{AuthUser, MovieInput, RowInput, ScreenInput, ShowInput, SignupInput};
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
    /// Add two screens, a few movies and their upcoming shows, only if the catalogue is
    /// empty.
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
    let (state, _) = storage.wire(&settings)?;
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
    println!(
        "staff user {:?} created (id {})",
        user.username.as_str(),
        user.id
    );
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
    let (state, _) = storage.wire(&settings)?;
    let added = seed_catalogue(&state).await?;
    storage.close();
    if added == 0 {
        println!("the catalogue is not empty: nothing seeded");
    } else {
        println!("seeded 2 screens and {added} shows");
    }
    Ok(added)
}

/// A row of a seeded layout: `count` seats of `category`, aisles after `aisles` places.
fn row(label: &str, count: i64, category: &str, aisles: &[i64]) -> RowInput {
    RowInput {
        label: Some(label.into()),
        count: Some(count),
        category: Some(category.into()),
        aisles_after: aisles.to_vec(),
        ..Default::default()
    }
}

/// Screen 1, 112 seats: rows A to H, two aisles, four wheelchair places at the ends of
/// row A, a camera position (E7, E8) blocked, rows F and G premium.
fn screen_one() -> Vec<RowInput> {
    let mut rows = vec![RowInput {
        wheelchair: vec![1, 2, 11, 12],
        ..row("A", 12, "standard", &[6])
    }];
    for label in ["B", "C", "D"] {
        rows.push(row(label, 14, "standard", &[3, 11]));
    }
    rows.push(RowInput {
        blocked: vec![7, 8],
        ..row("E", 14, "standard", &[3, 11])
    });
    for label in ["F", "G"] {
        rows.push(row(label, 14, "premium", &[3, 11]));
    }
    rows.push(row("H", 16, "standard", &[4, 12]));
    rows
}

/// Screen 2, 60 seats: rows A to F of 10 with a middle aisle, wheelchair places at both
/// ends of row A, a broken seat (D10) blocked, rows E and F premium.
fn screen_two() -> Vec<RowInput> {
    let mut rows = vec![RowInput {
        wheelchair: vec![1, 10],
        ..row("A", 10, "standard", &[5])
    }];
    rows.push(row("B", 10, "standard", &[5]));
    rows.push(row("C", 10, "standard", &[5]));
    rows.push(RowInput {
        blocked: vec![10],
        ..row("D", 10, "standard", &[5])
    });
    rows.push(row("E", 10, "premium", &[5]));
    rows.push(row("F", 10, "premium", &[5]));
    rows
}

pub async fn seed_catalogue(state: &AppState) -> anyhow::Result<usize> {
    let movies = state
        .catalog
        .list_movies(Some(1), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let screens = state
        .catalog
        .list_screens(Some(1), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if movies.total > 0 || screens.total > 0 {
        return Ok(0);
    }
    // Seeding runs with staff rights without a staff account.
    let seeder = AuthUser {
        id: domain::UserId(0),
        username: "seed-demo".into(),
        is_staff: true,
    };
    // Each screen with its prices, in cents: standard, premium.
    let mut screens: Vec<(i64, BTreeMap<String, i64>)> = Vec::new();
    for (name, rows, prices) in [
        ("Screen 1", screen_one(), (1250, 1800)),
        ("Screen 2", screen_two(), (990, 1490)),
    ] {
        let screen = state
            .catalog
            .create_screen(
                &seeder,
                ScreenInput {
                    name: Some(name.into()),
                    rows: Some(rows),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let prices = [
            ("standard".to_owned(), prices.0),
            ("premium".to_owned(), prices.1),
        ];
        screens.push((screen.id.0, prices.into()));
    }
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
        for (j, (screen, prices)) in screens.iter().enumerate() {
            state
                .catalog
                .create_show(
                    &seeder,
                    ShowInput {
                        movie_id: Some(movie.id.0),
                        start_time: Some(tomorrow + Duration::hours((3 * i + 5 * j) as i64)),
                        screen_id: Some(*screen),
                        prices: Some(prices.clone()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            added += 1;
        }
    }
    Ok(added)
}
