# shellcheck shell=bash
# Debian packages Parley needs, and a function that installs only the missing ones.
# Sourced by run.sh and test.sh:  . scripts/deps.sh; parley_ensure_packages "${PARLEY_BUILD_DEPS[@]}"
# To add a dependency, append it to the matching list below (one package per line).

# Compiler, build system and the libraries the code links against.
# shellcheck disable=SC2034  # used by the scripts that source this file
PARLEY_BUILD_DEPS=(
  build-essential
  cmake
  ninja-build
  pkg-config
  libboost1.74-dev
  libssl-dev
  libspdlog-dev
  libfmt-dev
  libtomlplusplus-dev
  libexpected-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libxerces-c-dev
  libhiredis-dev
  libgloox-dev
  libjemalloc-dev  # parleyd's allocator (server/src/allocator.cpp)
  nlohmann-json3-dev
)

# Extra tools for ./test.sh: sipp (integration tests), clang + its runtime (libFuzzer),
# python3 (integration driver), iproute2/procps (ss, ps, pkill-free process checks),
# prosody + python3-slixmpp (XMPP integration tests: a real server and real clients).
# shellcheck disable=SC2034
PARLEY_TEST_DEPS=(
  sip-tester
  python3
  clang
  libclang-rt-14-dev
  iproute2
  procps
  prosody
  python3-slixmpp
  redis-server  # parley_redis live tests (tests/redis): a real server per test
  chromium      # the dashboard in a real browser (tests/browser), driven by playwright-core
  nodejs        # runs tests/browser/dashboard.mjs (npm comes with it or as its own package)
)

# Extra packages for the demo ./run.sh starts without a config argument.
# shellcheck disable=SC2034
PARLEY_DEMO_DEPS=(
  prosody          # the local XMPP server parleyd joins as a component
  python3-slixmpp  # scripts/xmpp_demo.py, the bundled XMPP client
)

# And for ./run.sh --redis, the demo with its state in a Redis of its own (redis-cli comes
# with it, in redis-tools).
# shellcheck disable=SC2034
PARLEY_DEMO_REDIS_DEPS=(
  redis-server
)

# parley_missing_packages PKG... : prints the packages that are not installed, one a line.
parley_missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

# parley_ensure_packages PKG... : installs whichever of PKG... is missing.
# Does nothing (and touches no network) when everything is already installed; otherwise runs
# `apt-get update` once and a non-interactive `apt-get install`, through sudo when not root.
parley_ensure_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found (not Debian?); assuming the packages are installed" >&2
    return 0
  fi
  local missing=()
  mapfile -t missing < <(parley_missing_packages "$@")
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "deps: installing ${missing[*]}" >&2
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "deps: missing packages and not root, and sudo is not available:" \
           "apt-get install ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  if [[ -z "${PARLEY_APT_UPDATED:-}" ]]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    PARLEY_APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
  # Report anything apt-get claimed success for but which is still missing (e.g. a typo).
  mapfile -t missing < <(parley_missing_packages "$@")
  if ((${#missing[@]} > 0)); then
    echo "deps: still missing after install: ${missing[*]}" >&2
    return 1
  fi
}

# parley_ensure_browser_tools : npm (Debian ships it apart from nodejs; NodeSource's nodejs
# includes it), then tests/browser's npm packages (playwright-core, exactly as package-lock.json
# pins it) when node_modules is missing or older than the lock file. Downloads no browser.
parley_ensure_browser_tools() {
  command -v npm >/dev/null 2>&1 || parley_ensure_packages npm || return 1
  local dir=tests/browser
  if [[ ! -f $dir/node_modules/.package-lock.json || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
}

# parley_configure BUILD_DIR [CMAKE_ARGS...] : configures the source tree (the cwd) into BUILD_DIR.
# Uses Ninja when it is installed, but only for a fresh build dir: CMake refuses to switch the
# generator of an existing one.
parley_configure() {
  local dir=$1
  shift
  local gen=()
  if [[ ! -f "$dir/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    gen=(-G Ninja)
  fi
  cmake -S . -B "$dir" "${gen[@]}" "$@"
}
