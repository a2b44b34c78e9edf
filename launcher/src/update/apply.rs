//! `self update`, run by the network tool: check the channel, fetch only the
//! parts of the new executable this machine lacks, assemble and verify it,
//! install it into the cache, then switch.
//!
//! An executable is cut into parts at the edges of its embedded blobs: the
//! stub (with whatever an OS puts before the payload), each blob's zstd
//! frame, and the rest (manifest, trailer, and for Mach-O and PE what
//! follows). A part of the running executable whose hash the channel names
//! is copied from it; only the others are downloaded. So a release that
//! changes the app's code downloads that frame and the manifest part, never
//! CPython again. The assembled file must hash to the channel's
//! `executable` before anything uses it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::channel::{self, Body, Part};
use super::version::Version;
use super::{EXIT_UPDATE_AVAILABLE, PENDING, State, previous_of, read_state, write_state};
use crate::cache::Cache;
use crate::download::{self, Download};
use crate::error::{Error, IoContext, Result, printable};
use crate::manifest::Source;
use crate::payload::{Payload, hex};

struct Options {
    check: bool,
    allow_downgrade: bool,
    /// A daily check started by a normal run: quiet, leaves its finding in the cache.
    background: bool,
}

fn options(args: &[OsString], word: &str) -> Result<Options> {
    let mut o = Options { check: false, allow_downgrade: false, background: false };
    for a in args {
        match a.to_str() {
            Some("--check") => o.check = true,
            Some("--allow-downgrade") => o.allow_downgrade = true,
            Some("--background") => {
                o.check = true;
                o.background = true;
            }
            _ => {
                return Err(Error::new(format!("unknown option `{}` for `{word} update`", a.to_string_lossy()))
                    .with_hint(format!("usage: {word} update [--check] [--allow-downgrade]")));
            }
        }
    }
    Ok(o)
}

/// The whole of `self update` for the executable at `exe`.
pub fn run(cache: &Cache, exe: &Path, args: &[OsString]) -> Result<i32> {
    let payload = Payload::open(exe)?;
    let m = &payload.manifest;
    let o = options(args, &m.self_command)?;
    let Some(config) = &m.update else {
        return Err(Error::new(format!("{} {} was built without an update channel", m.app, m.version))
            .with_hint("build it with pyseal build --channel URL --public-key FILE"));
    };
    // One update of an app at a time; the second one finds the first's result.
    let _lock = cache.lock(&format!("update-{}", m.app))?;
    let url = format!("{}/channel.json", config.channel.trim_end_matches('/'));
    let document = download::get(&url, channel::MAX_DOCUMENT)?;
    let body = channel::verify(&document, &config.keys, &url)?;
    let mut state = read_state(cache, &m.app);
    check_document(&body, &url, m, &state)?;
    // Remember the newest document seen, so an older one is refused from now on.
    if body.sequence > state.sequence {
        state.sequence = body.sequence;
        write_state(cache, &m.app, &state)?;
    }
    let Some(release) = body.targets.get(&m.target) else {
        return Err(Error::new(format!(
            "the update channel has {} {} but no build of it for {}",
            printable(&body.app),
            printable(&body.version),
            m.target
        ))
        .with_hint("ask the publisher to release this target too"));
    };
    let current = Version::parse(&m.version);
    let offered = Version::parse(&body.version);
    let same = body.version == m.version || (current.is_some() && current == offered);
    if same || state.bad.contains(&body.version) || !in_rollout(cache, &body) {
        if state.bad.contains(&body.version) && !same {
            println!("{} {} failed to start here before and is not offered again", m.app, printable(&body.version));
        } else if !o.check {
            println!("{} {} is up to date", m.app, m.version);
        }
        return Ok(0);
    }
    let downgrade = match (&current, &offered) {
        (Some(c), Some(n)) => n < c,
        _ => false,
    };
    if downgrade && !o.allow_downgrade {
        return Err(Error::new(format!(
            "the update channel offers {} {}, older than the installed {}",
            m.app,
            printable(&body.version),
            m.version
        ))
        .with_hint(format!("to go back to it anyway, run `{} update --allow-downgrade`", m.self_command)));
    }
    if o.background {
        let found = cache.root.join("updates").join(&m.app).join("available");
        fs::write(&found, &body.version).ctx("write", &found)?;
        return Ok(EXIT_UPDATE_AVAILABLE);
    }
    if o.check {
        let minimum = body.minimum_version.as_deref().and_then(Version::parse);
        let required = match (&current, &minimum) {
            (Some(c), Some(min)) if c < min => " (required: this version is no longer supported)",
            _ => "",
        };
        println!("{} {} -> {} is available{required}", m.app, m.version, printable(&body.version));
        return Ok(EXIT_UPDATE_AVAILABLE);
    }
    let fresh = assemble(cache, &payload, &config.channel, release, &body)?;
    let result = install_and_switch(cache, &payload, &fresh, &mut state);
    let _ = fs::remove_file(&fresh);
    result?;
    println!("{} {} -> {}", m.app, m.version, printable(&body.version));
    Ok(0)
}

fn check_document(body: &Body, url: &str, m: &crate::manifest::Manifest, state: &State) -> Result<()> {
    if body.app != m.app {
        return Err(Error::new(format!("the update channel {url} is for {}, not {}", printable(&body.app), m.app))
            .with_hint("the executable was built with another app's channel URL"));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if body.expires <= now {
        return Err(Error::new(format!("the update channel {url} expired {} s ago", now - body.expires)).with_hint(
            "the publisher must release again (pyseal release --expires) to renew it; check this machine's clock too",
        ));
    }
    if body.sequence < state.sequence {
        return Err(Error::new(format!(
            "the update channel {url} sent an older document (sequence {}, this machine has seen {})",
            body.sequence, state.sequence
        ))
        .with_hint("a mirror or proxy is serving a stale or replayed channel; nothing was changed"));
    }
    Ok(())
}

/// Whether this installation is in the release's rollout share: a stable
/// bucket from the cache's own random id and the version.
fn in_rollout(cache: &Cache, body: &Body) -> bool {
    let Some(percent) = body.rollout.filter(|p| *p < 100) else { return true };
    let id_path = cache.root.join("updates").join("installation-id");
    let id = fs::read_to_string(&id_path).unwrap_or_else(|_| {
        let seed = format!("{:?}{}{:?}", SystemTime::now(), std::process::id(), cache.root);
        let id = hex(&Sha256::digest(seed.as_bytes()));
        let _ = crate::cache::create_private_dir(id_path.parent().unwrap_or(&cache.root));
        let _ = fs::write(&id_path, &id);
        id
    });
    let digest = Sha256::digest(format!("{id}/{}", body.version).as_bytes());
    (u16::from_be_bytes([digest[0], digest[1]]) % 100) < u16::from(percent)
}

/// The running executable's parts by hash: (offset, size).
fn own_parts(payload: &Payload) -> Result<HashMap<String, (u64, u64)>> {
    let len = fs::metadata(&payload.path).ctx("read", &payload.path)?.len();
    let mut edges = vec![0, payload.start, len];
    for blob in &payload.manifest.blobs {
        if let Source::Payload { offset, length } = blob.source {
            edges.push(payload.start + offset);
            edges.push(payload.start + offset + length);
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let mut file = File::open(&payload.path).ctx("read", &payload.path)?;
    let mut parts = HashMap::new();
    for pair in edges.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        file.seek(SeekFrom::Start(from)).ctx("read", &payload.path)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut (&mut file).take(to - from), &mut HashWriter(&mut hasher)).ctx("read", &payload.path)?;
        parts.insert(hex(&hasher.finalize()), (from, to - from));
    }
    Ok(parts)
}

/// Writes the new executable beside the running one from local and
/// downloaded parts; returns its path once it hashes right.
fn assemble(cache: &Cache, payload: &Payload, base: &str, release: &channel::Release, body: &Body) -> Result<PathBuf> {
    let delta_names = release.stub_delta.iter().flat_map(|d| [&d.sha256, &d.from]);
    let names = release.parts.iter().chain([&release.executable, &release.stub, &release.manifest]).map(|p| &p.sha256);
    for name in names.chain(delta_names) {
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(Error::new("the update channel names a part by something that is not a sha256")
                .with_hint("the channel was damaged or tampered with; nothing was changed"));
        }
    }
    let total: u64 = release.parts.iter().map(|p| p.size).sum();
    if total != release.executable.size {
        return Err(Error::new("the update channel's parts do not add up to its executable")
            .with_hint("the channel was damaged or tampered with; nothing was changed"));
    }
    let local = own_parts(payload)?;
    let what = format!("{} {}", body.app, body.version);
    let base = base.trim_end_matches('/');
    let fetched_dir = cache.downloads();
    // A changed stub comes as a delta against this executable's own, when the channel has one.
    if let Some(delta) = &release.stub_delta
        && !local.contains_key(&release.stub.sha256)
        && let Some(&(offset, size)) = local.get(&delta.from)
    {
        rebuild_stub(payload, (offset, size), delta, &release.stub, base, &what, &fetched_dir)?;
    }
    let have =
        |p: &Part| local.contains_key(&p.sha256) || (p.sha256 == release.stub.sha256 && is_file_of(&fetched_dir, p));
    let needed: Vec<&Part> = release.parts.iter().filter(|p| !have(p)).collect();
    let mut unique: Vec<&Part> = Vec::new();
    for p in needed {
        if !unique.iter().any(|u| u.sha256 == p.sha256) {
            unique.push(p);
        }
    }
    let downloads: Vec<Download> = unique
        .iter()
        .map(|p| Download::new(&format!("{base}/blobs/{}", p.sha256), &p.sha256, p.size, &what, None))
        .collect();
    let fetched = download::fetch_all(&fetched_dir, &downloads, &AtomicU64::new(0))?;
    let mut fetched: HashMap<&str, &PathBuf> = unique.iter().map(|p| p.sha256.as_str()).zip(fetched.iter()).collect();
    let rebuilt = fetched_dir.join(&release.stub.sha256);
    if !local.contains_key(&release.stub.sha256) && !fetched.contains_key(release.stub.sha256.as_str()) {
        fetched.insert(release.stub.sha256.as_str(), &rebuilt);
    }

    let exe = &payload.path;
    let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = exe.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Under the update lock, a half-written executable of an earlier update is debris.
    let debris = format!(".{name}.pyseal-new-");
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&debris) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let tmp = dir.join(format!(".{name}.pyseal-new-{}", std::process::id()));
    let result = write_parts(&tmp, exe, &release.parts, &local, &fetched, &release.executable);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    for path in fetched.values() {
        let _ = fs::remove_file(path);
    }
    Ok(tmp)
}

/// Whether the downloads directory already holds this part, whole (a stub rebuilt from a delta).
fn is_file_of(dir: &Path, part: &Part) -> bool {
    fs::metadata(dir.join(&part.sha256)).is_ok_and(|m| m.is_file() && m.len() == part.size)
}

/// Fetches the stub's delta and applies it to this executable's own stub;
/// the result is checked against the channel's stub part before it is kept.
fn rebuild_stub(
    payload: &Payload,
    (offset, size): (u64, u64),
    delta: &channel::Delta,
    stub: &Part,
    base: &str,
    what: &str,
    dir: &Path,
) -> Result<()> {
    let item = Download::new(&format!("{base}/blobs/{}", delta.sha256), &delta.sha256, delta.size, what, None);
    let paths = download::fetch_all(dir, std::slice::from_ref(&item), &AtomicU64::new(0))?;
    let patch = fs::read(&paths[0]).ctx("read", &paths[0])?;
    let mut old = vec![0u8; size as usize];
    let mut file = File::open(&payload.path).ctx("read", &payload.path)?;
    file.seek(SeekFrom::Start(offset)).ctx("read", &payload.path)?;
    file.read_exact(&mut old).ctx("read", &payload.path)?;
    let damaged = || {
        Error::corrupt("the update channel's stub delta does not make its stub")
            .with_hint("the channel was damaged or tampered with; nothing was changed")
    };
    let new = super::delta::decode(&old, &patch, stub.size).map_err(|_| damaged())?;
    if new.len() as u64 != stub.size || hex(&Sha256::digest(&new)) != stub.sha256 {
        return Err(damaged());
    }
    let _ = fs::remove_file(&paths[0]);
    let tmp = dir.join(format!("{}.partial", stub.sha256));
    fs::write(&tmp, &new).ctx("write", &tmp)?;
    crate::cache::rename(&tmp, &dir.join(&stub.sha256)).ctx("write", dir)
}

fn write_parts(
    tmp: &Path,
    exe: &Path,
    parts: &[Part],
    local: &HashMap<String, (u64, u64)>,
    fetched: &HashMap<&str, &PathBuf>,
    whole: &Part,
) -> Result<()> {
    let mut out = File::create(tmp).ctx("write", tmp)?;
    let mut own = File::open(exe).ctx("read", exe)?;
    let mut hasher = Sha256::new();
    let mut tee = Tee { out: &mut out, hasher: &mut hasher };
    for part in parts {
        if let Some(&(offset, size)) = local.get(&part.sha256) {
            own.seek(SeekFrom::Start(offset)).ctx("read", exe)?;
            std::io::copy(&mut (&mut own).take(size), &mut tee).ctx("write", tmp)?;
        } else {
            let path =
                fetched.get(part.sha256.as_str()).ok_or_else(|| Error::new("internal: a part was not fetched"))?;
            let mut f = File::open(path).ctx("read", path)?;
            std::io::copy(&mut f, &mut tee).ctx("write", tmp)?;
        }
    }
    let size = out.metadata().ctx("write", tmp)?.len();
    let actual = hex(&hasher.finalize());
    if actual != whole.sha256 || size != whole.size {
        return Err(Error::corrupt(format!(
            "the assembled executable does not match the update channel (sha256 {actual}, expected {})",
            whole.sha256
        ))
        .with_hint("the channel's parts do not make its executable; nothing was changed"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(exe).map(|m| m.permissions().mode()).unwrap_or(0o755) & 0o7777;
        fs::set_permissions(tmp, fs::Permissions::from_mode(mode | 0o100)).ctx("write", tmp)?;
    }
    out.sync_all().ctx("write", tmp)?;
    Ok(())
}

/// Installs the new release into the cache (so its first start is warm and
/// a failure changes nothing), marks it pending, keeps the current executable
/// as the previous one, and renames the new one over it.
fn install_and_switch(cache: &Cache, current: &Payload, fresh: &Path, state: &mut State) -> Result<()> {
    let new = Payload::open(fresh)?;
    if new.manifest.app != current.manifest.app || new.manifest.target != current.manifest.target {
        return Err(
            Error::new("the update channel's executable is another app or target").with_hint("nothing was changed")
        );
    }
    crate::install(cache, &new)?;
    let env = crate::env_path(cache, &new);
    let marker = env.join(PENDING);
    fs::write(&marker, "0").ctx("write", &marker)?;
    let exe = &current.path;
    let previous = previous_of(exe);
    let _ = fs::remove_file(&previous);
    if fs::hard_link(exe, &previous).is_err() {
        fs::copy(exe, &previous).ctx("keep the previous release as", &previous)?;
    }
    super::swap_in(fresh, exe)?;
    if let Some(dir) = exe.parent() {
        crate::cache::sync_dir(dir);
    }
    state.bad.retain(|v| *v != new.manifest.version);
    let _ = write_state(cache, &new.manifest.app, state);
    Ok(())
}

struct Tee<'a> {
    out: &'a mut File,
    hasher: &'a mut Sha256,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
