# streamit-server in a container: a release build, then a small runtime with only the binary.
#
#   docker build -t streamit-server .
#   docker run -p 8000:8000 -v streamit-data:/var/lib/streamit streamit-server
#
# Not built in this repository's CI (its machines reach no image registry); see
# docs/operations.md, "Docker".

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# The whole workspace: Cargo.lock pins every dependency (--locked refuses to change it), and
# SQLite is compiled in from source by libsqlite3-sys (the image's gcc), so the runtime needs no
# database library.
COPY . .
RUN cargo build --release --locked -p streamit-server

FROM debian:bookworm-slim
# A fixed uid and gid, so files given to the container (a bind-mounted data directory, a secret
# file) can be made readable by it: chown 10001:10001.
RUN groupadd --system --gid 10001 streamit \
 && useradd --system --uid 10001 --gid streamit --home-dir /var/lib/streamit --no-create-home \
        --shell /usr/sbin/nologin streamit \
 && install -d -o streamit -g streamit -m 0700 /var/lib/streamit
COPY --from=build /src/target/release/streamit-server /usr/local/bin/streamit-server

USER streamit:streamit
WORKDIR /var/lib/streamit
# Listen on every interface of the container; keep the SQLite database, its WAL files and the
# generated token-signing secret (streamit.db.jwt-secret) in the data volume.
ENV STREAMIT_BIND=0.0.0.0:8000 \
    STREAMIT_DATABASE_URL=sqlite:///var/lib/streamit/streamit.db
VOLUME ["/var/lib/streamit"]
EXPOSE 8000

# No HEALTHCHECK: the image has no curl or wget, and the server has no probe subcommand. Probe
# GET /healthz (process up) or GET /readyz (database answers) from outside: the orchestrator,
# the reverse proxy or the monitoring system.

# SIGTERM (Docker's default) starts a graceful stop: sockets are closed with 1012, open requests
# get --shutdown-grace-seconds (10 s by default) to finish. Give the container more than that
# before Docker kills it: `docker stop -t 30`, or `stop_grace_period: 30s` in compose.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/streamit-server"]
