/**
 * PEP 425 platform tags a target accepts, best first, from its floors: the
 * oldest glibc (manylinux, PEP 600), musl (musllinux, PEP 656) or macOS
 * version the executable promises to run on.
 */

/** `manylinux_2_28_x86_64` down to the oldest tags, with the legacy aliases. */
export function manylinux(arch: string, floor: [number, number], hostBuild: boolean): string[] {
  const tags: string[] = [];
  for (let minor = floor[1]; minor >= (arch === 'x86_64' ? 5 : 17); minor--) {
    tags.push(`manylinux_2_${minor}_${arch}`);
    if (minor === 17) tags.push(`manylinux2014_${arch}`);
    if (minor === 12) tags.push(`manylinux2010_${arch}`);
    if (minor === 5) tags.push(`manylinux1_${arch}`);
  }
  // `linux_*` wheels were built on this machine: fine for it, not for others.
  if (hostBuild) tags.push(`linux_${arch}`);
  return tags;
}

/** `musllinux_1_2_x86_64`, `musllinux_1_1_x86_64`, ... */
export function musllinux(arch: string, floor: [number, number]): string[] {
  const tags: string[] = [];
  for (let minor = floor[1]; minor >= 0; minor--) tags.push(`musllinux_${floor[0]}_${minor}_${arch}`);
  return tags;
}

/**
 * `macosx_13_0_arm64` (the newest macOS wheels may require) down to the
 * oldest that exists for the architecture (10.9 for x86_64, 11.0 for arm64),
 * each with its `universal2` twin.
 */
export function macos(arch: 'x86_64' | 'arm64', newest: [number, number]): string[] {
  const tags: string[] = [];
  const oldest = arch === 'arm64' ? 11 : 10;
  for (let major = newest[0]; major >= oldest; major--) {
    const minors = major === 10 ? [16, 15, 14, 13, 12, 11, 10, 9] : [0];
    for (const minor of minors) {
      tags.push(`macosx_${major}_${minor}_${arch}`, `macosx_${major}_${minor}_universal2`);
      if (arch === 'x86_64' && major === 10) tags.push(`macosx_${major}_${minor}_intel`);
    }
  }
  return tags;
}
