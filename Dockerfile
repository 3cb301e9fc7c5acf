# Multi-stage build: compile in the Rust image, run in a slim Debian as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p api-actix --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app movie-booking
COPY --from=build /src/target/release/movie-booking /usr/local/bin/movie-booking
COPY config /app/config
WORKDIR /app
USER movie-booking
ENV APP_ENV=production \
    APP__SERVER__HOST=0.0.0.0 \
    APP__SERVER__PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8000/ready/ || exit 1
ENTRYPOINT ["movie-booking"]
CMD ["serve"]
