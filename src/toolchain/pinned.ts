/**
 * Build tools pyseal fetches on first need, each pinned to one version and to
 * the sha256 of its wheel per build machine: uv (resolving for other
 * targets), zig and cargo-zigbuild (linking launcher stubs for any target).
 * They are published on PyPI as wheels holding a native program, so they come
 * through the same hash-checked download and the same Rust wheel installer
 * (RECORD-checked) as any app's wheels, and need no Python to run.
 */

export interface PinnedTool {
  /** PyPI project name. */
  project: string;
  version: string;
  /** The program inside the installed wheel tree (`bin/` holds `.data/scripts`; `.exe` is added on Windows). */
  program: string;
  /** One wheel per build machine (pyseal's own host triple). */
  wheels: Record<string, { file: string; sha256: string }>;
}

export const UV: PinnedTool = {
  project: 'uv',
  version: '0.13.9',
  program: 'bin/uv',
  wheels: {
    'x86_64-unknown-linux-gnu': { file: 'uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', sha256: 'd7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19' },
    'aarch64-unknown-linux-gnu': {
      file: 'uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl',
      sha256: '5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe',
    },
    'aarch64-apple-darwin': { file: 'uv-0.13.9-py3-none-macosx_11_0_arm64.whl', sha256: '66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63' },
    'x86_64-apple-darwin': { file: 'uv-0.13.9-py3-none-macosx_10_12_x86_64.whl', sha256: 'c16ed11e013557536b3e60065f1b912f6407bd6518e041b961e23ef9e6b4fbf5' },
    'x86_64-pc-windows-msvc': { file: 'uv-0.13.9-py3-none-win_amd64.whl', sha256: '6a44b2ed8111d2f60d2b92627c5dccda3f7ed7570b18ce115e569cd68c28246b' },
  },
};

/** zig: the linker (and C compiler) for every target, with its own libc headers and stubs. */
export const ZIG: PinnedTool = {
  project: 'ziglang',
  version: '0.17.1',
  program: 'site-packages/ziglang/zig',
  wheels: {
    'x86_64-unknown-linux-gnu': {
      file: 'ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl',
      sha256: 'ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54',
    },
    'aarch64-unknown-linux-gnu': {
      file: 'ziglang-0.17.1-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl',
      sha256: 'b7c5f02fccd40f89b999ee16a1f5ddced56e6182370f8affe494bcf8a28cf07e',
    },
    'aarch64-apple-darwin': { file: 'ziglang-0.17.1-py3-none-macosx_13_0_arm64.whl', sha256: '09953b6af7f64168b915180a42774f520f92d86ef6331b28e33915c7e1f0bb23' },
    'x86_64-apple-darwin': { file: 'ziglang-0.17.1-py3-none-macosx_13_0_x86_64.whl', sha256: '4e0b4b9c02b8d0d220e9948010f860b62ff11d96abb39762eca5fa2ef3f7bc97' },
    'x86_64-pc-windows-msvc': { file: 'ziglang-0.17.1-py3-none-win_amd64.whl', sha256: '69c3dfc3aff6a297ec4017aa904782c0e450eb988982d7f675d83edce27526fb' },
  },
};

/** cargo-zigbuild: runs cargo with zig as the linker, for a glibc floor (`<triple>.2.17`) too. */
export const CARGO_ZIGBUILD: PinnedTool = {
  project: 'cargo-zigbuild',
  version: '0.24.1',
  program: 'bin/cargo-zigbuild',
  wheels: {
    'x86_64-unknown-linux-gnu': { file: 'cargo_zigbuild-0.24.1-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.whl', sha256: '238a1ab54a95053a4eadc34775c81f795a8ad75f80bfed63f3f445f518102375' },
    'aarch64-unknown-linux-gnu': { file: 'cargo_zigbuild-0.24.1-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl', sha256: '07c5e3dcddf208500462ec927c556bb306cca2b533b0abe29446bffb63767b85' },
    'aarch64-apple-darwin': {
      file: 'cargo_zigbuild-0.24.1-py3-none-macosx_10_12_universal2.macosx_10_12_x86_64.macosx_11_0_arm64.whl',
      sha256: '7b832d824bbf852b9a99b02a0dfa2166a00462fc237c2387d15a67c385755795',
    },
    'x86_64-apple-darwin': {
      file: 'cargo_zigbuild-0.24.1-py3-none-macosx_10_12_universal2.macosx_10_12_x86_64.macosx_11_0_arm64.whl',
      sha256: '7b832d824bbf852b9a99b02a0dfa2166a00462fc237c2387d15a67c385755795',
    },
    'x86_64-pc-windows-msvc': { file: 'cargo_zigbuild-0.24.1-py3-none-win_amd64.whl', sha256: '46e0ce74fb1bd36486d9fa28e1df33530d390ce2d1cdbab0019d844bdfdfebdf' },
  },
};
