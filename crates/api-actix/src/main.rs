//! The `movie-booking` binary.

fn main() -> std::process::ExitCode {
    api_actix::cli::main()
}
