#!/usr/bin/env bash
# Builds the system contracts (contracts/system) for wasm32-unknown-unknown and copies them to
# contracts/wasm/, which genesis ships together with their SM3 code hashes.
#
#   contracts/build-system-contracts.sh           build and update contracts/wasm/*.wasm
#   contracts/build-system-contracts.sh --check   rebuild from scratch in a temporary target
#                                                 directory and fail unless the bytes equal
#                                                 the committed contracts/wasm/*.wasm
#
# The bytes are reproducible from any clone location. Cargo hashes the absolute path of a path
# dependency outside the workspace (contracts/types, contracts/sdk) into its crate metadata,
# which changes symbol hashes and so the order of functions in the module; the build therefore
# reaches the clone through a symlink at one fixed path (under a lock, so that two clones do not
# build at once). Paths embedded in the module (panic locations) are remapped to fixed prefixes,
# the lock file is used as committed (--locked) and the release profile has one codegen unit.
# The same rustc version is needed; contracts/wasm/TOOLCHAIN records the one the committed
# bytes were built with.
set -euo pipefail

contracts_directory="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repository_root="$(dirname "$contracts_directory")"
workspace="$contracts_directory/system"
output="$contracts_directory/wasm"
cargo_home="$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)"
target_triple="wasm32-unknown-unknown"
contracts=(registry trace)

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac

if $check; then
    target_directory="$(mktemp -d)"
    trap 'rm -rf "$target_directory"' EXIT
else
    target_directory="$workspace/target"
fi
mkdir -p "$target_directory"
target_directory="$(cd "$target_directory" && pwd -P)"

fixed_root="/tmp/rxchain-system-contracts-source"
exec 9>"$fixed_root.lock"
flock 9
ln -sfn "$repository_root" "$fixed_root"

# rustc applies the last matching remapping, so the target directory, which may lie inside
# the repository, comes last. The flags are separated by 0x1f, which lets paths hold spaces.
separator=$'\x1f'
# Initial memory: the 1 MiB stack, static data, and about 1 MiB of heap, so that a usual call
# never grows memory (growing costs the host an mprotect now and another when it resets the
# instance slot for the next call). 34 pages of 64 KiB.
initial_memory_bytes=$((34 * 65536))
export CARGO_ENCODED_RUSTFLAGS="--remap-path-prefix=$fixed_root=/rxchain${separator}--remap-path-prefix=$cargo_home=/cargo${separator}--remap-path-prefix=$target_directory=/target${separator}-Clink-arg=--initial-memory=$initial_memory_bytes"
# Settings from a developer's environment that would change the bytes.
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_PROFILE_RELEASE_DEBUG
export CARGO_TARGET_DIR="$target_directory"

toolchain="$(rustc --version)"
echo "building ${contracts[*]} with $toolchain" >&2
cargo build --release --locked --target "$target_triple" \
    --manifest-path "$fixed_root/contracts/system/Cargo.toml"

built="$target_directory/$target_triple/release"
if ! $check; then
    mkdir -p "$output"
    for contract in "${contracts[@]}"; do
        cp "$built/$contract.wasm" "$output/$contract.wasm"
        echo "$output/$contract.wasm: $(wc -c <"$output/$contract.wasm") bytes, sha256 $(sha256sum "$output/$contract.wasm" | cut -d' ' -f1)" >&2
    done
    echo "$toolchain" >"$output/TOOLCHAIN"
    exit 0
fi

mismatches=0
for contract in "${contracts[@]}"; do
    committed="$output/$contract.wasm"
    if [[ ! -f "$committed" ]]; then
        echo "MISMATCH: $committed does not exist; run $0 and commit the result" >&2
        mismatches=$((mismatches + 1))
    elif cmp -s "$built/$contract.wasm" "$committed"; then
        echo "ok: $contract.wasm is reproducible ($(sha256sum "$committed" | cut -d' ' -f1))" >&2
    else
        echo "MISMATCH: $contract.wasm rebuilt from source differs from the committed $committed" >&2
        echo "  committed sha256 $(sha256sum "$committed" | cut -d' ' -f1), $(wc -c <"$committed") bytes" >&2
        echo "  rebuilt   sha256 $(sha256sum "$built/$contract.wasm" | cut -d' ' -f1), $(wc -c <"$built/$contract.wasm") bytes" >&2
        mismatches=$((mismatches + 1))
    fi
done
if ((mismatches > 0)); then
    recorded="$(cat "$output/TOOLCHAIN" 2>/dev/null || echo unknown)"
    echo "the committed wasm was built with: $recorded; this build used: $toolchain" >&2
    echo "run contracts/build-system-contracts.sh and commit contracts/wasm/ if the source change is intended" >&2
    exit 1
fi
