//! The seam between the TypeScript build tool and the Rust payload code.
//!
//! Everything that reads or writes payload bytes, tar streams or wheels lives in
//! `pyseal-launcher`; this file only converts arguments and errors. Slow calls
//! run on libuv's thread pool (napi `AsyncTask`) so the CLI stays responsive.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pyseal_launcher::error::Error as SealError;
use pyseal_launcher::manifest::Manifest;
use pyseal_launcher::{archive, pack, payload, wheel};

/// Errors cross as `message` + optional `\nhint: ...`; TypeScript splits them.
fn to_napi(e: SealError) -> napi::Error {
    let mut reason = e.message;
    if let Some(hint) = e.hint {
        reason.push_str("\nhint: ");
        reason.push_str(&hint);
    }
    napi::Error::new(Status::GenericFailure, reason)
}

/// A byte counter the build tool polls to draw progress while a task runs.
#[napi]
pub struct Progress {
    done: Arc<AtomicU64>,
}

#[napi]
impl Progress {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Progress { done: Arc::new(AtomicU64::new(0)) }
    }

    #[napi(getter)]
    pub fn done(&self) -> f64 {
        self.done.load(Ordering::Relaxed) as f64
    }
}

#[napi(object)]
pub struct BlobSource {
    /// A directory to pack deterministically, or
    pub dir: Option<String>,
    /// a tar archive (plain, .tar.gz, .tar.zst) taken verbatim.
    pub archive: Option<String>,
    /// Override every file's mtime (seconds since the epoch).
    pub mtime: Option<i64>,
}

fn source(s: &BlobSource) -> Result<pack::Source> {
    match (&s.dir, &s.archive) {
        (Some(dir), None) => Ok(pack::Source::Tree { dir: dir.into(), mtime: s.mtime.map(|m| m.max(0) as u64) }),
        (None, Some(archive)) => Ok(pack::Source::Archive(archive.into())),
        _ => Err(napi::Error::new(Status::InvalidArg, "a blob source needs exactly one of dir or archive")),
    }
}

#[napi(object)]
pub struct BlobHash {
    pub sha256: String,
    pub size: f64,
}

pub struct HashTask(pack::Source);

impl Task for HashTask {
    type Output = (String, u64);
    type JsValue = BlobHash;
    fn compute(&mut self) -> Result<Self::Output> {
        pack::hash(&self.0).map_err(to_napi)
    }
    fn resolve(&mut self, _env: Env, (sha256, size): Self::Output) -> Result<BlobHash> {
        Ok(BlobHash { sha256, size: size as f64 })
    }
}

/// The blob's name (sha256 of its tar stream) and uncompressed size.
#[napi(ts_return_type = "Promise<BlobHash>")]
pub fn hash_blob(source: BlobSource) -> Result<AsyncTask<HashTask>> {
    Ok(AsyncTask::new(HashTask(self::source(&source)?)))
}

pub struct CompressTask {
    source: pack::Source,
    level: i32,
    sha256: String,
    out: PathBuf,
    progress: Arc<AtomicU64>,
}

impl Task for CompressTask {
    type Output = u64;
    type JsValue = f64;
    fn compute(&mut self) -> Result<u64> {
        pack::compress(&self.source, self.level, &self.sha256, &self.out, &self.progress).map_err(to_napi)
    }
    fn resolve(&mut self, _env: Env, size: u64) -> Result<f64> {
        Ok(size as f64)
    }
}

/// Compresses a blob to `out` (atomically); resolves to the compressed size.
#[napi(ts_return_type = "Promise<number>")]
pub fn compress_blob(
    source: BlobSource,
    level: i32,
    sha256: String,
    out: String,
    progress: Option<&Progress>,
) -> Result<AsyncTask<CompressTask>> {
    Ok(AsyncTask::new(CompressTask {
        source: self::source(&source)?,
        level,
        sha256,
        out: out.into(),
        progress: progress.map_or_else(|| Arc::new(AtomicU64::new(0)), |p| p.done.clone()),
    }))
}

pub struct ExtractTask {
    archive: PathBuf,
    dest: PathBuf,
}

impl Task for ExtractTask {
    type Output = (String, u64);
    type JsValue = BlobHash;
    fn compute(&mut self) -> Result<Self::Output> {
        std::fs::create_dir_all(&self.dest).map_err(|e| to_napi(SealError::io("create directory", &self.dest, e)))?;
        let (sha, size) =
            archive::extract_archive_file(&self.archive, &self.dest, archive::ExtractOptions { read_only: false })
                .map_err(to_napi)?;
        Ok((payload::hex(&sha), size))
    }
    fn resolve(&mut self, _env: Env, (sha256, size): Self::Output) -> Result<BlobHash> {
        Ok(BlobHash { sha256, size: size as f64 })
    }
}

/// Unpacks a tar archive with the launcher's own strict extractor.
#[napi(ts_return_type = "Promise<BlobHash>")]
pub fn extract_archive(archive: String, dest: String) -> AsyncTask<ExtractTask> {
    AsyncTask::new(ExtractTask { archive: archive.into(), dest: dest.into() })
}

/// A JSON value handed to JavaScript as a plain object (task results need a TypeName).
pub struct Json(serde_json::Value);

impl TypeName for Json {
    fn type_name() -> &'static str {
        "Object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Json {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        unsafe { serde_json::Value::to_napi_value(env, val.0) }
    }
}

pub struct WheelTask {
    wheel: PathBuf,
    dest: Option<PathBuf>,
}

impl Task for WheelTask {
    type Output = wheel::WheelInfo;
    type JsValue = Json;
    fn compute(&mut self) -> Result<wheel::WheelInfo> {
        match &self.dest {
            Some(dest) => wheel::install(&self.wheel, dest),
            None => wheel::read_info(&self.wheel),
        }
        .map_err(to_napi)
    }
    fn resolve(&mut self, _env: Env, info: wheel::WheelInfo) -> Result<Json> {
        serde_json::to_value(info).map(Json).map_err(|e| napi::Error::from_reason(e.to_string()))
    }
}

/// Installs a wheel (PEP 427, RECORD-checked) into `dest`; resolves to its metadata.
#[napi(ts_return_type = "Promise<WheelInfo>")]
pub fn install_wheel(wheel: String, dest: String) -> AsyncTask<WheelTask> {
    AsyncTask::new(WheelTask { wheel: wheel.into(), dest: Some(dest.into()) })
}

/// A wheel's metadata and entry points, without installing it.
#[napi(ts_return_type = "Promise<WheelInfo>")]
pub fn read_wheel(wheel: String) -> AsyncTask<WheelTask> {
    AsyncTask::new(WheelTask { wheel: wheel.into(), dest: None })
}

pub struct WriteTask {
    stub: PathBuf,
    manifest: Manifest,
    blobs: Vec<Option<PathBuf>>,
    out: PathBuf,
}

impl Task for WriteTask {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> Result<()> {
        payload::write_executable(&self.stub, &mut self.manifest, &self.blobs, &self.out).map_err(to_napi)
    }
    fn resolve(&mut self, _env: Env, _: ()) -> Result<()> {
        Ok(())
    }
}

/// Writes `stub + blobs + manifest + trailer` to `out` through a temp file.
/// `manifest.blobs[i]` describes `blobFiles[i]` (null for a blob fetched by
/// URL); offsets and fetched wheels' cache names are filled in here.
#[napi(
    ts_args_type = "stub: string, manifest: Manifest, blobFiles: (string | null)[], out: string",
    ts_return_type = "Promise<void>"
)]
pub fn write_executable(
    stub: String,
    manifest: serde_json::Value,
    blob_files: Vec<Option<String>>,
    out: String,
) -> Result<AsyncTask<WriteTask>> {
    let manifest: Manifest = serde_json::from_value(manifest).map_err(|e| {
        napi::Error::new(Status::InvalidArg, format!("internal: manifest does not fit the payload format: {e}"))
    })?;
    Ok(AsyncTask::new(WriteTask {
        stub: stub.into(),
        manifest,
        blobs: blob_files.into_iter().map(|f| f.map(PathBuf::from)).collect(),
        out: out.into(),
    }))
}

/// Reads an executable's payload: manifest, build id and layout.
#[napi(ts_return_type = "Inspection")]
pub fn inspect_executable(path: String) -> Result<serde_json::Value> {
    let p = payload::Payload::open(std::path::Path::new(&path)).map_err(to_napi)?;
    let file_size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(serde_json::json!({
        "manifest": p.manifest,
        "manifestSha256": p.manifest_sha256,
        "buildId": p.build_id(),
        "stubSize": p.start,
        "payloadSize": p.trailer.payload_len + payload::TRAILER_LEN,
        "fileSize": file_size,
    }))
}

pub struct Sha256Task(PathBuf);

impl Task for Sha256Task {
    type Output = String;
    type JsValue = String;
    fn compute(&mut self) -> Result<String> {
        let file = std::fs::File::open(&self.0).map_err(|e| to_napi(SealError::io("open", &self.0, e)))?;
        let (digest, _) = archive::HashingReader::new(std::io::BufReader::with_capacity(1 << 20, file))
            .finish()
            .map_err(|e| to_napi(SealError::io("read", &self.0, e)))?;
        Ok(payload::hex(&digest))
    }
    fn resolve(&mut self, _env: Env, s: String) -> Result<String> {
        Ok(s)
    }
}

/// Hex sha256 of a file.
#[napi(ts_return_type = "Promise<string>")]
pub fn sha256_file(path: String) -> AsyncTask<Sha256Task> {
    AsyncTask::new(Sha256Task(path.into()))
}

/// Writes the zstd delta that turns the stub `old` into `new` (see
/// `pyseal_launcher::update::delta`), for `pyseal release`.
#[napi]
pub fn write_stub_delta(old: String, new: String, out: String) -> Result<()> {
    let read = |p: &str| std::fs::read(p).map_err(|e| to_napi(SealError::io("read", std::path::Path::new(p), e)));
    let delta = pyseal_launcher::update::delta::encode(&read(&old)?, &read(&new)?)
        .map_err(|e| napi::Error::new(Status::GenericFailure, format!("cannot make a stub delta: {e}")))?;
    std::fs::write(&out, delta).map_err(|e| to_napi(SealError::io("write", std::path::Path::new(&out), e)))
}
