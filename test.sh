#!/usr/bin/env bash
# Builds Parley and runs every test. Usage: ./test.sh [--quick] [--stage N]...
#
#   stage 1  Release build in build/ (warnings are errors), then all ctest tests
#            (labels unit + integration: real parleyd against sipp on loopback).
#   stage 2  ASan+UBSan build of the unit tests in build-asan/, ctest -L unit.
#   stage 3  libFuzzer build (clang) in build-fuzz/, fuzz_sip_parser for 30 s on a copy of the
#            seed corpus: every *.sip under tests/fixtures/sip/.
#   --quick    stage 1 only.   --stage N  run only stage N (repeatable).
#
# Missing Debian packages are installed first (scripts/deps.sh). Builds use PARLEY_JOBS
# parallel jobs (default 2). The last line is "N passed, N failed": ctest's counts summed over
# the stages, plus the fuzz run as one test, plus one failure for each build step that failed.
# The exit status is 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }

declare -A run_stage=()
while (($# > 0)); do
  case "$1" in
    --quick) run_stage[1]=1 ;;
    --stage)
      [[ "${2:-}" =~ ^[123]$ ]] || { echo "test.sh: --stage takes 1, 2 or 3" >&2; exit 2; }
      run_stage[$2]=1
      shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ((${#run_stage[@]} == 0)); then
  run_stage=([1]=1 [2]=1 [3]=1)
fi

# shellcheck source=scripts/deps.sh
. scripts/deps.sh
parley_ensure_packages "${PARLEY_BUILD_DEPS[@]}" "${PARLEY_TEST_DEPS[@]}"

jobs="${PARLEY_JOBS:-2}"
passed=0
failed=0
stage_report=()
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/parley-test.XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT

note() { printf '\n==== %s\n' "$*"; }

# run_ctest NAME CTEST_ARGS... : runs ctest, adds its counts to passed/failed.
# Returns non-zero when any test failed or ctest could not run.
run_ctest() {
  local name=$1
  shift
  local log="$log_dir/$name.ctest.log" rc=0
  ctest --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log" || rc=$?
  # "100% tests passed, 0 tests failed out of 42"
  local summary
  summary=$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -n "$summary" ]]; then
    local nfail ntotal
    read -r nfail _ _ _ _ ntotal <<<"$summary"
    passed=$((passed + ntotal - nfail))
    failed=$((failed + nfail))
    if ((nfail > 0 && rc == 0)); then rc=1; fi
  elif ((rc != 0)); then
    failed=$((failed + 1))  # ctest failed before it could report (no tests, crash...)
  fi
  return "$rc"
}

# build_step NAME COMMAND... : runs a configure/build command; a failure counts as one failed
# test, is reported, and ends the script (later stages need the build).
build_step() {
  local name=$1
  shift
  if ! "$@"; then
    failed=$((failed + 1))
    stage_report+=("$name: FAILED")
    finish
  fi
}

finish() {
  note "summary"
  local line
  for line in "${stage_report[@]}"; do
    printf '  %s\n' "$line"
  done
  printf '%d passed, %d failed\n' "$passed" "$failed"
  if ((failed > 0)); then exit 1; fi
  exit 0
}

# Unit-test executables of a configured build dir (their names end in _unit_tests).
unit_test_targets() {
  cmake --build "$1" --target help 2>/dev/null |
    sed -nE 's/^(\.\.\. )?([A-Za-z0-9_]+_unit_tests)(: .*)?$/\2/p' | sort -u
}

# ---- stage 1: Release build, all tests ---------------------------------------------------------
if [[ -n "${run_stage[1]:-}" ]]; then
  t0=$SECONDS
  note "stage 1: Release build (build/) + all tests"
  build_step "stage 1 configure" parley_configure build -DCMAKE_BUILD_TYPE=Release -DPARLEY_WERROR=ON
  build_step "stage 1 build" cmake --build build -j"$jobs"
  build_step "stage 1 browser tools (npm ci in tests/browser)" parley_ensure_browser_tools
  status=ok
  run_ctest stage1 --test-dir build -j2 || status=FAILED
  stage_report+=("stage 1 (Release, unit + integration): $status, $((SECONDS - t0)) s")
  printf 'stage 1: %s in %d s\n' "$status" "$((SECONDS - t0))"
fi

# ---- stage 2: ASan + UBSan unit tests ------------------------------------------------------------
if [[ -n "${run_stage[2]:-}" ]]; then
  t0=$SECONDS
  note "stage 2: ASan+UBSan build (build-asan/) + unit tests"
  # -O1 -g1: half the compile time of RelWithDebInfo's -O2 -g under ASan (the stage's cost is
  # its build), with line tables enough for the sanitizers' stack traces.
  build_step "stage 2 configure" parley_configure build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DPARLEY_SANITIZE=ON -DPARLEY_BENCH=OFF -DPARLEY_WERROR=ON
  mapfile -t unit_targets < <(unit_test_targets build-asan)
  if ((${#unit_targets[@]} > 0)); then
    build_step "stage 2 build" cmake --build build-asan -j"$jobs" --target "${unit_targets[@]}"
  else
    build_step "stage 2 build" cmake --build build-asan -j"$jobs"
  fi
  status=ok
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    run_ctest stage2 --test-dir build-asan -j2 -L unit || status=FAILED
  stage_report+=("stage 2 (ASan+UBSan, unit): $status, $((SECONDS - t0)) s")
  printf 'stage 2: %s in %d s\n' "$status" "$((SECONDS - t0))"
fi

# ---- stage 3: fuzz the SIP parser ------------------------------------------------------------------
if [[ -n "${run_stage[3]:-}" ]]; then
  t0=$SECONDS
  note "stage 3: libFuzzer build (build-fuzz/) + fuzz_sip_parser for 30 s"
  # Clang may warn where g++ does not; warnings are g++'s job (stage 1), crashes are this stage's.
  build_step "stage 3 configure" parley_configure build-fuzz \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON \
    -DPARLEY_TESTS=OFF -DPARLEY_BENCH=OFF -DPARLEY_WERROR=OFF
  build_step "stage 3 build" cmake --build build-fuzz -j"$jobs" --target fuzz_sip_parser
  fuzzer=build-fuzz/tests/fuzz/fuzz_sip_parser
  if [[ ! -x "$fuzzer" ]]; then
    fuzzer=$(find build-fuzz -type f -name fuzz_sip_parser -perm -u+x | head -n 1)
  fi
  corpus="$log_dir/corpus"
  artifacts="$log_dir/artifacts"
  mkdir -p "$corpus" "$artifacts"
  # Every *.sip under tests/fixtures/sip (any depth), named <subdir>_<file> so equal names in
  # different folders don't collide. libFuzzer adds new inputs to this copy, not to the repo.
  mapfile -t seeds < <(find tests/fixtures/sip -type f -name '*.sip' 2>/dev/null | sort)
  for seed in "${seeds[@]}"; do
    rel="${seed#tests/fixtures/sip/}"
    cp "$seed" "$corpus/${rel//\//_}"
  done
  if ((${#seeds[@]} == 0)); then
    echo "warning: no seeds (tests/fixtures/sip/**/*.sip); fuzzing from an empty corpus"
  fi
  status=ok
  if [[ -z "$fuzzer" ]]; then
    echo "fuzz_sip_parser was not built"
    status=FAILED
  elif ! "$fuzzer" -max_total_time=30 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" >"$log_dir/fuzz.log" 2>&1; then
    status=FAILED
    tail -n 60 "$log_dir/fuzz.log"
    mkdir -p build-fuzz/crashes
    cp "$artifacts"/* build-fuzz/crashes/ 2>/dev/null || true
    echo "crash inputs copied to build-fuzz/crashes/ (reproduce: $fuzzer build-fuzz/crashes/<file>)"
  else
    grep -E '^(stat::number_of_executed_runs|stat::peak_rss_mb|Done )' "$log_dir/fuzz.log" || true
  fi
  if [[ $status == ok ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  stage_report+=("stage 3 (fuzz_sip_parser, ${#seeds[@]} seeds): $status, $((SECONDS - t0)) s")
  printf 'stage 3: %s in %d s\n' "$status" "$((SECONDS - t0))"
fi

finish
