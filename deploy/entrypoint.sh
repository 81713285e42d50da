#!/bin/sh
# Entry point of the Scripter image (see the Dockerfile and README, "Deployment").
#
#   scripter-entrypoint COMMAND [ARG...]   run COMMAND as the user scripter
#   scripter-entrypoint init               create the data folders and, when none is
#                                          there, a self-signed TLS certificate; exit
#
# Started as root (the image's default), it
#   1. creates the data folders (SCRIPTER_DATA_DIRECTORY, default ./data) and hands
#      the ones owned by root (Docker creates a missing bind-mount source as root) to
#      scripter;
#   2. looks up the group of the Docker socket (DOCKER_HOST if unix://, else
#      /var/run/docker.sock) and gives scripter that group id, whatever its number is
#      on this host: no DOCKER_GID to set by hand;
#   3. drops to scripter with setpriv (no capabilities, no new privileges) and execs
#      COMMAND.
# Started as another user (`docker run --user`, compose `user:`), it execs COMMAND as
# it is; give that user the socket's group yourself (compose `group_add: ["<gid>"]`).
#
# init (run by compose's one-shot `init` service, as root):
#   CERT_DIR       where scripter.crt and scripter.key are (default /certs); existing
#                  files are kept, so put your own certificate there to use it
#   CERT_HOSTNAME  the name (or IPv4 address) the certificate is for (default localhost)
set -eu

APP_USER=scripter

prepare_data() {
    data="${SCRIPTER_DATA_DIRECTORY:-data}"
    mkdir -p "$data/images" "$data/scripts"
    id "$APP_USER" >/dev/null 2>&1 || return 0 # run outside the image: nobody to hand to
    for dir in "$data" "$data/images" "$data/scripts"; do
        if [ "$(stat -c %u "$dir")" = 0 ]; then
            chown "$APP_USER:$APP_USER" "$dir" ||
                echo "scripter-entrypoint: cannot hand $dir to $APP_USER" >&2
        fi
    done
}

make_certificate() {
    dir="${CERT_DIR:-/certs}"
    crt="$dir/scripter.crt"
    key="$dir/scripter.key"
    if [ -s "$crt" ] && [ -s "$key" ]; then
        echo "scripter-entrypoint: TLS certificate $crt is there; keeping it"
        return
    fi
    name="${CERT_HOSTNAME:-localhost}"
    case "$name" in
        *[!0-9.]*) san="DNS:$name,DNS:localhost,IP:127.0.0.1" ;;
        *) san="IP:$name,DNS:localhost,IP:127.0.0.1" ;;
    esac
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
        -subj "/CN=$name" -addext "subjectAltName=$san" \
        -keyout "$key.new" -out "$crt.new" 2>/dev/null
    chmod 600 "$key.new"
    chmod 644 "$crt.new"
    mv "$key.new" "$key"
    mv "$crt.new" "$crt"
    echo "scripter-entrypoint: made a self-signed TLS certificate for $name in $dir"
}

run_as_app() {
    groups=""
    socket="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    case "$socket" in
        unix://*)
            if [ -S "${socket#unix://}" ]; then
                groups="$(stat -c %g "${socket#unix://}")"
            fi
            ;;
    esac
    if [ -n "$groups" ]; then
        set -- --groups="$groups" "$@"
    else
        set -- --clear-groups "$@"
    fi
    exec setpriv --reuid="$APP_USER" --regid="$APP_USER" --inh-caps=-all --no-new-privs "$@"
}

if [ "$#" -eq 0 ]; then
    set -- scripter serve
fi
if [ "$1" = init ]; then
    prepare_data
    make_certificate
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi
prepare_data
run_as_app "$@"
