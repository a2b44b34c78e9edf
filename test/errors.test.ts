/**
 * Every failure a user can cause at build time: one clear line (plus a hint),
 * a non-zero exit, no stack trace, and nothing at the output path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { makeWheel } from './fixtures/wheels.mjs';
import { expectUserError, fixtures, LEVEL, pyseal, tempDir } from './helpers.js';

/** Builds with the demo wheels unless overridden, and checks the failure. */
function failBuild(args: { distribution?: string; wheels?: string[]; extra?: string[]; cwd?: string }, message: RegExp) {
  const f = fixtures();
  const dir = tempDir();
  const out = join(dir, 'never');
  const r = pyseal(
    [
      'build',
      '--quiet',
      ...(args.distribution === '' ? [] : ['--distribution', args.distribution ?? f.python.archive]),
      ...(args.wheels ?? [f.wheels.app, f.wheels.lib]).flatMap((w) => ['--wheel', w]),
      '--level',
      LEVEL,
      '--out',
      out,
      ...(args.extra ?? []),
    ],
    args.cwd ? { cwd: args.cwd } : {},
  );
  expectUserError(r, message);
  expect(existsSync(out), 'a failed build left an output file').toBe(false);
  return r;
}

/** A tar.gz made with Python's tarfile from (name, kind, data/target) entries. */
function tarball(path: string, entries: [string, 'file' | 'symlink', string][]): string {
  const script = `
import io, json, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tf:
    for name, kind, data in json.loads(sys.argv[2]):
        info = tarfile.TarInfo(name)
        if kind == "symlink":
            info.type = tarfile.SYMTYPE
            info.linkname = data
            tf.addfile(info)
        else:
            raw = data.encode()
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
`;
  execFileSync(fixtures().python.interpreter, ['-c', script, path, JSON.stringify(entries)]);
  return path;
}

describe('bad distributions', () => {
  it('a missing archive', () => {
    failBuild({ distribution: '/nonexistent/cpython.tar.gz' }, /distribution archive \/nonexistent\/cpython\.tar\.gz does not exist/);
  });

  it('none named: the newest CPython in the catalog, whose download names the mirror setting', () => {
    const r = failBuild({ distribution: '', extra: ['--python-mirror', 'http://127.0.0.1:9'] }, /cannot download http:\/\/127\.0\.0\.1:9\/\d+\/cpython-3\.\d+\.\d+%2B\d+-x86_64-unknown-linux-gnu-install_only_stripped\.tar\.gz: connection refused/);
    expect(r.stderr).toMatch(/hint: check the mirror \(--python-mirror \/ PYSEAL_PYTHON_MIRROR/);
  });

  it('a file that is not an archive', () => {
    const path = join(tempDir(), 'cpython.tar.gz');
    writeFileSync(path, 'this is not an archive\n'.repeat(50));
    failBuild({ distribution: path }, /distribution .*cpython\.tar\.gz is damaged: a tar header is invalid \(corrupt, or not a tar archive\)/);
  });

  it('a truncated archive', () => {
    const path = join(tempDir(), 'cpython.tar.gz');
    const whole = readFileSync(fixtures().python.archive);
    writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 3)));
    failBuild({ distribution: path }, /distribution .*cpython\.tar\.gz is damaged: it ends early/);
  });

  it('an archive that is not a python-build-standalone tree', () => {
    const path = tarball(join(tempDir(), 'other.tar.gz'), [['python/README', 'file', 'hi']]);
    failBuild({ distribution: path }, /is not a python-build-standalone install_only archive/);
  });

  it('an archive with a path escaping the tree', () => {
    const path = tarball(join(tempDir(), 'evil.tar.gz'), [['python/../../escape', 'file', 'x']]);
    failBuild({ distribution: path }, /escapes the destination/);
  });

  it('an archive with a symlink pointing out of the tree', () => {
    const path = tarball(join(tempDir(), 'evil.tar.gz'), [['python/bin/python3', 'symlink', '/usr/bin/python3']]);
    failBuild({ distribution: path }, /points outside the destination/);
  });

  it('an archive whose hash does not match the one given', () => {
    failBuild({ extra: ['--distribution-sha256', '0'.repeat(64)] }, /does not match its expected sha256/);
  });
});

describe('bad wheels', () => {
  it('a missing wheel', () => {
    failBuild({ wheels: ['/nonexistent/app-1.0-py3-none-any.whl'] }, /wheel \/nonexistent\/app-1\.0-py3-none-any\.whl does not exist/);
  });

  it('nothing to build: no project, no --from, no wheels', () => {
    failBuild({ wheels: [] }, /nothing to build in .*: no pyproject\.toml or setup\.py, no --from and no --wheel/);
  });

  it('a file not named like a wheel', () => {
    const path = join(tempDir(), 'app.zip');
    writeFileSync(path, 'x');
    failBuild({ wheels: [path] }, /is not named like a wheel/);
  });

  it('a wheel that is not a zip archive', () => {
    const path = join(tempDir(), 'broken-1.0-py3-none-any.whl');
    writeFileSync(path, 'not a zip');
    failBuild({ wheels: [path] }, /wheel .*broken-1\.0-py3-none-any\.whl: not a valid zip archive/);
  });

  it('a wheel whose files do not match its RECORD', () => {
    const wheel = makeWheel({ name: 'tampered', version: '1.0', out: tempDir(), files: { 'tampered/__init__.py': 'x = 1\n' }, tamper: { 'tampered/__init__.py': 'x = 2\n' } });
    failBuild({ wheels: [wheel] }, /tampered\/__init__\.py does not match RECORD/);
  });

  it('a wheel with a path escaping the installation', () => {
    const wheel = makeWheel({ name: 'escaping', version: '1.0', out: tempDir(), files: { '../escape.py': 'x = 1\n' } });
    failBuild({ wheels: [wheel] }, /\.\.\/escape\.py points outside the installation/);
  });

  it('a wheel built for another Python', () => {
    const wheel = makeWheel({ name: 'oldabi', version: '1.0', out: tempDir(), tag: 'cp38-cp38-manylinux_2_17_x86_64', files: { 'oldabi.py': '' } });
    const r = failBuild({ wheels: [wheel] }, /oldabi-1\.0-cp38-cp38-manylinux_2_17_x86_64\.whl \(tags cp38-cp38-manylinux_2_17_x86_64\) does not fit CPython/);
    expect(r.stderr).toMatch(/not for CPython 3\.\d+/);
  });

  it('a wheel built for another platform', () => {
    const f = fixtures();
    const tag = `cp${f.python.major}${f.python.minor}-cp${f.python.major}${f.python.minor}-win_amd64`;
    const wheel = makeWheel({ name: 'winonly', version: '1.0', out: tempDir(), tag, files: { 'winonly.py': '' } });
    failBuild({ wheels: [wheel] }, /winonly.*win_amd64.*not for this target's platform/);
  });

  it('two versions of one package', () => {
    const other = makeWheel({ name: 'greetlib', version: '3.0', out: tempDir(), files: { 'greetlib/__init__.py': '' } });
    failBuild({ wheels: [fixtures().wheels.app, fixtures().wheels.lib, other] }, /two wheels provide greetlib/);
  });
});

describe('bad entry points', () => {
  it('an unknown script, naming the ones there are', () => {
    const r = failBuild({ extra: ['--script', 'nope'] }, /has no console script or script file named "nope"/);
    expect(r.stderr).toMatch(/hint: its scripts are: hello-app/);
  });

  it('an app with several scripts and no choice', () => {
    const wheel = makeWheel({ name: 'multi', version: '1.0', out: tempDir(), console_scripts: { one: 'multi:one', two: 'multi:two' }, files: { 'multi.py': '' } });
    failBuild({ wheels: [wheel] }, /has several console scripts: one, two/);
  });

  it('an app with no scripts and no entry', () => {
    const wheel = makeWheel({ name: 'quiet', version: '1.0', out: tempDir(), files: { 'quiet.py': '' } });
    failBuild({ wheels: [wheel] }, /has no console scripts/);
  });

  it('a malformed --entry', () => {
    failBuild({ extra: ['--entry', 'not an entry'] }, /--entry "not an entry" is not of the form module:function/);
  });

  it('more than one of --script, --entry and --module', () => {
    const r = failBuild({ extra: ['--script', 'hello-app', '--entry', 'a:b'] }, /more than one thing to run is set: --script hello-app, --entry a:b/);
    expect(r.code).toBe(2);
    failBuild({ extra: ['--module', 'a', '--entry', 'a:b'] }, /more than one thing to run is set: --entry a:b, --module a/);
  });

  it('a malformed or unknown --module', () => {
    failBuild({ extra: ['--module', 'not-a-module'] }, /--module "not-a-module" is not a module name/);
    failBuild({ extra: ['--module', 'nosuchthing.cli'] }, /module nosuchthing\.cli is in none of the wheels, nor in CPython's standard library/);
  });
});

describe('bad configuration and flags', () => {
  it('an out-of-range level', () => {
    failBuild({ extra: ['--level', '30'] }, /zstd level 30 is out of range/);
    failBuild({ extra: ['--level', 'fast'] }, /--level fast is not a number/);
  });

  it('an unknown target', () => {
    failBuild({ extra: ['--target', 'sparc-sun-solaris'] }, /unknown target "sparc-sun-solaris"/);
  });

  it('an unknown option', () => {
    const r = failBuild({ extra: ['--colour'] }, /unknown option --colour/);
    expect(r.code).toBe(2);
  });

  it('a pyproject.toml that is not TOML', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pyproject.toml'), '[project\nname = ');
    failBuild({ extra: [dir] }, /cannot parse .*pyproject\.toml: line 1/);
  });

  it('an unknown [tool.pyseal] key', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pyproject.toml'), '[tool.pyseal]\ndistributon = "x"\n');
    const r = failBuild({ extra: [dir] }, /unknown key "distributon" in \[tool\.pyseal\]/);
    expect(r.stderr).toMatch(/hint: known keys: .*\bdistribution, /);
  });

  it('a [tool.pyseal] value of the wrong type', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'pyproject.toml'), '[tool.pyseal]\nwheels = "x.whl"\n');
    failBuild({ extra: [dir] }, /\[tool\.pyseal\] wheels .* must be a list of strings/);
  });
});

/**
 * A newcomer's mistakes are found before anything is downloaded or compiled:
 * every check below runs with the Python download pointed at a port nothing
 * listens on, and with a fresh build cache (so no stub exists to reuse and a
 * cargo run would show as a `cargo` directory).
 */
describe('offline checks come first', () => {
  function failEarly(args: string[], message: RegExp, cwd?: string) {
    const dir = tempDir();
    const cache = join(dir, 'cache');
    const r = pyseal(['build', '--quiet', '--python-mirror', 'http://127.0.0.1:9', '--out', join(dir, 'never'), ...args], { buildCache: cache, ...(cwd ? { cwd } : {}) });
    expectUserError(r, message);
    expect(r.stderr).not.toMatch(/cannot download|127\.0\.0\.1:9/);
    for (const d of ['cargo', 'cargo-min-size', 'stubs', 'downloads']) expect(existsSync(join(cache, d)), `${d} in the build cache`).toBe(false);
    return r;
  }

  it('an empty directory: nothing to build, said at once', () => {
    const empty = tempDir();
    const r = failEarly([], /nothing to build in .*: no pyproject\.toml or setup\.py, no --from and no --wheel/, empty);
    expect(r.stderr).toMatch(/hint: run pyseal build in a project directory, or name the app: --from PACKAGE \(from PyPI\) or --wheel FILE/);
    expect(r.code).toBe(2);
  });

  it('a Python version the catalog lacks', () => {
    failEarly(['--python', '3.7', '--wheel', fixtures().wheels.app], /CPython 3\.7 is not in the Python catalog/);
  });

  it('missing files: requirements, lock, distribution', () => {
    failEarly(['--from', 'x', '-r', '/nonexistent/requirements.txt'], /requirements file \/nonexistent\/requirements\.txt does not exist/);
    failEarly(['--from', 'x', '--lock', '/nonexistent/uv.lock'], /lock file \/nonexistent\/uv\.lock does not exist/);
    failEarly(['--wheel', fixtures().wheels.app, '--distribution', '/nonexistent/cpython.tar.gz'], /distribution archive \/nonexistent\/cpython\.tar\.gz does not exist/);
  });

  it('a script the app wheel does not have, and a malformed entry point', () => {
    const f = fixtures();
    const r = failEarly(['--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--script', 'nope'], /hello_app-1\.0\.0-py3-none-any\.whl has no console script or script file named "nope"/);
    expect(r.stderr).toMatch(/hint: its scripts are: hello-app/);
    failEarly(['--wheel', f.wheels.app, '--entry', 'x'], /--entry "x" is not of the form module:function/);
  });
});

describe('inspect', () => {
  it('a file that is not a pyseal executable', () => {
    expectUserError(pyseal(['inspect', '/bin/sh']), /\/bin\/sh carries no pyseal payload/);
  });

  it('a missing file', () => {
    expectUserError(pyseal(['inspect', '/nonexistent/app']), /\/nonexistent\/app does not exist/);
  });
});
