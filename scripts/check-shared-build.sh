#!/usr/bin/env bash
# The shared-library build (BUILD_SHARED_LIBS=ON), checked: configures it in a directory of its
# own, builds it, checks what each library exports and its ABI version, then runs the install
# test (a consumer and the robot SDK linked against the installed shared libraries) and a few
# suites. Not part of `scripts/dev.sh test`: a second full build is beyond CI's budget.
#   scripts/check-shared-build.sh [ctest -R regex]
# RELAY_SHARED_BUILD_DIR (default build-shared) and RELAY_JOBS (default: all cores) apply.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${RELAY_SHARED_BUILD_DIR:-$here/build-shared}
jobs=${RELAY_JOBS:-$(nproc)}
suites=${1:-'^(protocol|auth|store|routing|robot_sdk): |^install_consumer$'}

cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_SHARED_LIBS=ON
cmake --build "$build_dir" --parallel "$jobs"

# Every library is versioned (librelay_x.so -> .so.MAJOR.MINOR -> .so.VERSION) and exports only
# names that mention relay:: or boost:: (cmake/relay_exports.map).
echo "==> exports"
libs=$(find "$build_dir" -name 'librelay_*.so' -not -path '*/install_consumer/*' | sort)
[ -n "$libs" ] || { echo "no shared libraries in $build_dir" >&2; exit 1; }
status=0
for lib in $libs; do
  soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
  case "$soname" in
    librelay_*.so.[0-9]*) ;;
    *) echo "$lib: no versioned SONAME ($soname)" >&2; status=1 ;;
  esac
  exported=$(nm -D -C --defined-only "$lib" | awk '$2 ~ /^[TWVDBRGSiu]$/' | wc -l)
  stray=$(nm -D -C --defined-only "$lib" | awk '$2 ~ /^[TWVDBRGSiu]$/' | cut -d' ' -f3- |
          grep -v -e 'relay::' -e 'boost::' || true)
  printf '%-28s %-32s %6d exported\n' "$(basename "$lib")" "$soname" "$exported"
  if [ -n "$stray" ]; then
    echo "$lib exports names outside relay:: and boost:::" >&2
    echo "$stray" | head -20 >&2
    status=1
  fi
done
[ $status -eq 0 ] || exit $status

echo "==> tests: $suites"
cd "$build_dir"
exec ctest --output-on-failure --timeout 900 --parallel "$jobs" -R "$suites"
