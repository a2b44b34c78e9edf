//! First-run downloads (lazy mode): every file the cache lacks, fetched in
//! parallel into `downloads/`, resumed with `Range` after a break (also across
//! runs, from `downloads/<sha256>.partial`), retried with backoff, and checked
//! against its sha256 before anything uses it.
//!
//! The network is ureq over rustls (ring), with the OS certificate bundle plus
//! SSL_CERT_FILE as roots and HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the
//! environment. Runtime mirrors (PYSEAL_PYTHON_MIRROR, PYSEAL_INDEX_MIRROR)
//! replace the base a URL was recorded with.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::manifest::{Mirror, MirrorKind};
use crate::payload::hex;

/// One file to fetch.
pub struct Download {
    pub url: String,
    pub sha256: String,
    pub size: u64,
    /// What it is, for errors (`cpython-3.12.7`, `click-8.1.7`).
    pub what: String,
    pub mirror: Option<MirrorKind>,
}

impl Download {
    /// The URL to use: the recorded one, or the mirror's, when its variable is set.
    pub fn new(url: &str, sha256: &str, size: u64, what: &str, mirror: Option<&Mirror>) -> Download {
        let mirrored = mirror.and_then(|m| {
            let base = std::env::var(m.kind.variable()).ok().filter(|v| !v.is_empty())?;
            Some(format!("{}/{}", base.trim_end_matches('/'), m.path.trim_start_matches('/')))
        });
        Download {
            url: mirrored.unwrap_or_else(|| url.to_string()),
            sha256: sha256.to_string(),
            size,
            what: what.to_string(),
            mirror: mirror.map(|m| m.kind),
        }
    }
}

const ATTEMPTS: u32 = 4;

fn timeout() -> Duration {
    let secs = std::env::var("PYSEAL_HTTP_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    Duration::from_secs(secs)
}

/// Fetches every download the directory lacks; returns the verified files.
/// `done` counts bytes for a progress display.
pub fn fetch_all(dir: &Path, items: &[Download], done: &AtomicU64) -> Result<Vec<PathBuf>> {
    crate::cache::create_private_dir(dir)?;
    let paths: Vec<PathBuf> = items.iter().map(|d| dir.join(&d.sha256)).collect();
    // A file already here is used only once it hashes right: whatever put it
    // there (a killed run, a full disk, another program) is not trusted.
    let (present, todo): (Vec<usize>, Vec<usize>) =
        (0..items.len()).partition(|&i| verified(&paths[i], &items[i]).unwrap_or(false));
    done.fetch_add(present.iter().map(|&i| items[i].size).sum(), Ordering::Relaxed);
    if todo.is_empty() {
        return Ok(paths);
    }
    let agent = agent()?;
    let next = AtomicUsize::new(0);
    let errors: Mutex<Vec<Error>> = Mutex::new(Vec::new());
    let workers = todo.len().min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = todo.get(n) else { break };
                    if let Err(e) = fetch_one(&agent, &items[i], dir, &paths[i], done) {
                        errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                        // Stop handing out work: one failure fails the first run.
                        next.store(todo.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    match errors.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(paths),
    }
}

/// A small document (an update channel) whose hash is not known beforehand:
/// retried like any download, refused when larger than `max`.
pub fn get(url: &str, max: u64) -> Result<Vec<u8>> {
    let agent = agent()?;
    let d = Download {
        url: url.to_string(),
        sha256: String::new(),
        size: max,
        what: "update channel".into(),
        mirror: None,
    };
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
        }
        let response = agent.get(url).header("Cache-Control", "no-cache").call();
        let mut response = match response {
            Ok(r) => r,
            Err(e) => match tls_error(&e) {
                Some(tls) => {
                    return Err(Error::new(format!("cannot download {url} (update channel): TLS: {tls}")).with_hint(
                        "if a proxy or mirror uses its own certificate authority, point SSL_CERT_FILE at it",
                    ));
                }
                None => {
                    last = describe(&e);
                    continue;
                }
            },
        };
        let status = response.status().as_u16();
        match status {
            200 => {}
            429 | 500..=599 => {
                last = format!("the server answered HTTP {status}");
                continue;
            }
            404 => return Err(unreachable_error(&d, "not found (HTTP 404)")),
            _ => return Err(unreachable_error(&d, &format!("the server answered HTTP {status}"))),
        }
        let mut body = Vec::new();
        match response.body_mut().as_reader().take(max + 1).read_to_end(&mut body) {
            Ok(_) if body.len() as u64 > max => {
                return Err(Error::new(format!("{url} (update channel) is larger than {max} bytes"))
                    .with_hint("the channel URL points at something that is not a pyseal channel"));
            }
            Ok(_) => return Ok(body),
            Err(e) => last = crate::error::describe_io(&e),
        }
    }
    Err(unreachable_error(&d, &last))
}

fn agent() -> Result<ureq::Agent> {
    // ring is the one crypto provider compiled in; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = root_certificates()?;
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
        .build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(timeout()))
        .timeout_recv_response(Some(timeout()))
        .timeout_per_read(Some(timeout()))
        .http_status_as_error(false)
        .user_agent(concat!("pyseal-launcher/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(config.new_agent())
}

/// The OS's trusted roots plus SSL_CERT_FILE: on Windows from its certificate
/// store, elsewhere from the bundle file where Linux distributions and macOS keep it.
fn root_certificates() -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let mut certs = os_store_certificates();
    certs.extend(bundle_certificates()?);
    Ok(certs)
}

#[cfg(windows)]
fn os_store_certificates() -> Vec<ureq::tls::Certificate<'static>> {
    // Roots it cannot read are left out; a server they vouch for then fails with a TLS error naming SSL_CERT_FILE.
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

#[cfg(not(windows))]
fn os_store_certificates() -> Vec<ureq::tls::Certificate<'static>> {
    Vec::new()
}

fn bundle_certificates() -> Result<Vec<ureq::tls::Certificate<'static>>> {
    const BUNDLES: &[&str] = &[
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    ];
    let bundles: &[&str] = if cfg!(windows) { &[] } else { BUNDLES };
    let mut files: Vec<PathBuf> = bundles.iter().map(PathBuf::from).filter(|p| p.is_file()).take(1).collect();
    if let Some(extra) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        let extra = PathBuf::from(extra);
        if !extra.is_file() {
            return Err(Error::new(format!("SSL_CERT_FILE names {}, which does not exist", extra.display()))
                .with_hint("point SSL_CERT_FILE at a PEM bundle, or unset it"));
        }
        files.push(extra);
    }
    let mut certs = Vec::new();
    for file in &files {
        let pem = fs::read(file).ctx("read certificates from", file)?;
        for item in ureq::tls::parse_pem(&pem).flatten() {
            if let ureq::tls::PemItem::Certificate(cert) = item {
                certs.push(cert);
            }
        }
    }
    Ok(certs)
}

enum Failure {
    /// Worth another try: resets, timeouts, 5xx, a short body.
    Retry(String),
    /// No point retrying: 4xx, a hash mismatch, a local I/O error.
    Final(Error),
}

fn fetch_one(agent: &ureq::Agent, d: &Download, dir: &Path, dest: &Path, done: &AtomicU64) -> Result<()> {
    let partial = dir.join(format!("{}.partial", d.sha256));
    let mut last = String::new();
    let mut progress = Progress { total: done, credited: 0 };
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
        }
        match attempt_once(agent, d, &partial, &mut progress) {
            Ok(()) => return crate::cache::rename(&partial, dest).ctx("save", dest),
            Err(Failure::Final(e)) => return Err(e),
            Err(Failure::Retry(why)) => last = why,
        }
    }
    Err(unreachable_error(d, &last))
}

fn unreachable_error(d: &Download, why: &str) -> Error {
    let hint = match d.mirror {
        Some(kind) => format!(
            "check the network and proxy settings (HTTPS_PROXY, NO_PROXY), or set {} to a mirror that has the file",
            kind.variable()
        ),
        None => "check the network and proxy settings (HTTPS_PROXY, NO_PROXY)".to_string(),
    };
    Error::new(format!("cannot download {} ({}): {why}", d.url, d.what)).with_hint(hint)
}

/// Bytes of one download reported to the shared counter, so that retries and
/// resumes never count a byte twice.
struct Progress<'a> {
    total: &'a AtomicU64,
    credited: u64,
}

impl Progress<'_> {
    fn reached(&mut self, have: u64) {
        if have > self.credited {
            self.total.fetch_add(have - self.credited, Ordering::Relaxed);
            self.credited = have;
        }
    }
}

/// One request, continuing the partial file when the server allows it.
fn attempt_once(agent: &ureq::Agent, d: &Download, partial: &Path, done: &mut Progress) -> Result<(), Failure> {
    let io = |action: &str, e: io::Error| Failure::Final(Error::io(action, partial, e));
    let (mut hasher, mut have) = hash_existing(partial).map_err(|e| io("read", e))?;
    if have > d.size {
        let _ = fs::remove_file(partial);
        (hasher, have) = (Sha256::new(), 0);
    }
    let mut request = agent.get(&d.url);
    if have > 0 {
        request = request.header("Range", &format!("bytes={have}-"));
    }
    let mut response = request.call().map_err(|e| match tls_error(&e) {
        // A certificate no root vouches for will not change on a retry.
        Some(tls) => Failure::Final(
            Error::new(format!("cannot download {} ({}): TLS: {tls}", d.url, d.what))
                .with_hint("if a proxy or mirror uses its own certificate authority, point SSL_CERT_FILE at it"),
        ),
        None => Failure::Retry(describe(&e)),
    })?;
    let status = response.status().as_u16();
    let append = match status {
        206 if have > 0 => true,
        200 => false,
        416 => {
            let _ = fs::remove_file(partial);
            return Err(Failure::Retry("the saved part did not fit the file".into()));
        }
        404 => return Err(Failure::Final(unreachable_error(d, "not found (HTTP 404)"))),
        429 | 500..=599 => return Err(Failure::Retry(format!("the server answered HTTP {status}"))),
        _ => return Err(Failure::Final(unreachable_error(d, &format!("the server answered HTTP {status}")))),
    };
    if !append {
        (hasher, have) = (Sha256::new(), 0);
    }
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(partial)
        .map_err(|e| io("write", e))?;
    done.reached(have);
    let mut body = response.body_mut().as_reader();
    let mut buf = vec![0u8; 64 << 10];
    let broke = loop {
        match body.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => {
                file.write_all(&buf[..n]).map_err(|e| io("write", e))?;
                hasher.update(&buf[..n]);
                have += n as u64;
                done.reached(have);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Some(crate::error::describe_io(&e)),
        }
    };
    file.sync_all().map_err(|e| io("write", e))?;
    if let Some(why) = broke {
        return Err(Failure::Retry(why));
    }
    if have < d.size {
        return Err(Failure::Retry(format!("the connection closed after {have} of {} bytes", d.size)));
    }
    let actual = hex(&hasher.finalize());
    if actual != d.sha256 || have != d.size {
        let _ = fs::remove_file(partial);
        return Err(Failure::Final(
            Error::corrupt(format!(
                "{} ({}) does not match its sha256 (expected {}, got {actual})",
                d.url, d.what, d.sha256
            ))
            .with_hint("the file changed on the server or was damaged on the way; nothing was installed"),
        ));
    }
    Ok(())
}

/// Whether `path` is a regular file with the download's size and sha256; a
/// file there that is not is removed.
fn verified(path: &Path, d: &Download) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == d.size => {}
        Ok(_) => {
            let _ = fs::remove_file(path);
            return Ok(false);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    let (hasher, _) = hash_existing(path)?;
    let ok = hex(&hasher.finalize()) == d.sha256;
    if !ok {
        let _ = fs::remove_file(path);
    }
    Ok(ok)
}

/// The running hash and length of what an earlier attempt saved.
fn hash_existing(partial: &Path) -> io::Result<(Sha256, u64)> {
    let mut hasher = Sha256::new();
    let mut file = match File::open(partial) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((hasher, 0)),
        Err(e) => return Err(e),
    };
    let len = io::copy(&mut file, &mut HashWriter(&mut hasher))?;
    Ok((hasher, len))
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The TLS failure behind an error, if that is what it is (rustls reports
/// through ureq directly or wrapped in an I/O error).
fn tls_error(e: &ureq::Error) -> Option<String> {
    match e {
        ureq::Error::Rustls(tls) => Some(tls.to_string()),
        ureq::Error::Tls(what) => Some((*what).to_string()),
        ureq::Error::Io(io) => {
            io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).map(|tls| tls.to_string())
        }
        _ => None,
    }
}

/// ureq's errors, in a few words.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused".into(),
            io::ErrorKind::ConnectionReset => "the connection was reset".into(),
            io::ErrorKind::TimedOut => "timed out".into(),
            _ => crate::error::describe_io(io),
        },
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Timeout(_) => "timed out".into(),
        other => other.to_string().lines().next().unwrap_or("request failed").to_string(),
    }
}
