#!/usr/bin/env bash
# What the whole test suite needs besides npm packages, checked before any test runs (`npm test`
# runs this first, as `pretest`; `.ci/run` runs `npm test`). As root on Debian or Ubuntu it
# installs what is missing and starts PostgreSQL; otherwise it stops before any test with the
# list of what is missing and the one command that installs it.
set -euo pipefail

# Debian packages the tests drive for real: Postfix as the school's mail server (and its
# smtp-sink/smtp-source for the benchmark), archive and PDF tools that make encrypted fixtures,
# LibreOffice for Office documents, Chromium for the console, HAProxy, docker-compose and
# promtool for the deploy files, mail corpora nobody here wrote, handwriting fonts for the OCR
# benchmark's handwritten pages.
PACKAGES=(postfix swaks zip unzip p7zip-full qpdf openssl gnupg chromium haproxy docker-compose prometheus systemd
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno python3-msoffcrypto-tool
  libpython3.11-testsuite golang-github-jhillyerd-enmime-dev python3-flufl.bounce postgresql
  tesseract-ocr tesseract-ocr-eng poppler-utils libjpeg-turbo-progs netpbm webp libheif-examples
  fonts-femkeklaver fonts-dkg-handwriting fonts-bwht)

if [[ "${HALLMONITOR_SKIP_PREPARE:-}" == 1 ]]; then exit 0; fi

missing=()
if command -v dpkg >/dev/null 2>&1; then
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
else
  echo "prepare: this is not a Debian or Ubuntu machine (no dpkg); the tests expect these Debian packages or their equivalents: ${PACKAGES[*]}" >&2
  exit 1
fi

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "prepare: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    {
      echo "The tests need Debian packages that are not installed:"
      printf '  %s\n' "${missing[@]}"
      echo "Install them with:"
      echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
      echo "then run npm test again. (Only the tests that need no service: npm run test:unit)"
    } >&2
    exit 1
  fi
fi

# PostgreSQL at 127.0.0.1:5432 (trust authentication for the postgres user, as Debian's default
# cluster on these machines); start it if it is down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "The tests need PostgreSQL at 127.0.0.1:5432 and it is not answering. Start it with:" >&2
    echo "  sudo pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql | head -1) main start" >&2
    exit 1
  fi
fi
