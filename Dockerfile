# Dockerfile: the sta image (scheduler, web UI and every `sta etl` task).
#   docker build -t sta:0.1.0 .
# Build stage: the Debian packages ./dev lists for building; runtime stage:
# only the shared libraries sta links against, the binary, the UI files
# and the shipped DAGs, run as the unprivileged user 10001.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc make autoconf automake autoconf-archive libtool pkg-config \
      libsqlite3-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libev-dev \
      libsodium-dev nettle-dev libcmocka-dev libmicrohttpd-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && mkdir -p build/image \
 && cd build/image \
 && ../../configure --prefix=/usr \
 && make -j"$(nproc)" \
 && make install-strip DESTDIR=/out

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libcurl4 libcjson1 libyaml-0-2 libev4 libsodium23 \
      libnettle8 libpq5 libmicrohttpd12 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 sta \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin sta \
 && mkdir -p /data /etc/sta \
 && chown 10001:10001 /data
COPY --from=build /out/usr/ /usr/
COPY workflows/ /etc/sta/workflows/
ENV STA_HOME=/data \
    STA_DAGS_FOLDER=/etc/sta/workflows
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
USER 10001
ENTRYPOINT ["sta"]
CMD ["scheduler", "--web", "0.0.0.0:8080"]
