#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu 22.04).
# The system python3 (3.10) stays untouched: everything goes into a virtual environment outside
# /autograder/source, readable (not writable) by the unprivileged user that runs student code.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${AUTOGRADER_VENV:-/opt/autograder-venv}"
WORKER_USER="${WORKER_USER:-autograder-worker}"
export DEBIAN_FRONTEND=noninteractive

# venv needs ensurepip, which Ubuntu ships separately (python3-venv).
if ! python3 -m venv "$VENV"; then
    rm -rf "$VENV"
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3-venv
    python3 -m venv "$VENV"
fi
# constraints.txt pins every package requirements.txt resolves to (tools/lock.py), so that an image
# built later installs exactly the versions of today's.
"$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check \
    -r "$SOURCE/requirements.txt" -c "$SOURCE/constraints.txt"
chmod -R u=rwX,go=rX "$VENV"

# The worker: a system user with no home and no login shell.
if ! id -u "$WORKER_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$WORKER_USER"
fi

# Fail the image build now rather than every submission later.
"$VENV/bin/python" -c "import numpy, pytest, jsonschema, gradescope_utils"
su -s /bin/sh "$WORKER_USER" -c "'$VENV/bin/python' -I -c 'import numpy'"
echo "autograder environment ready: $("$VENV/bin/python" --version), worker user $WORKER_USER"
