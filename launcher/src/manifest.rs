//! The manifest: what an executable carries and how to run it.
//!
//! It is JSON so that `pyseal inspect` and people can read it; it is small
//! (a few KB) so the warm path can read and check it in microseconds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bumped when a launcher could misread a newer manifest.
/// 2: entry kinds (module, program, script) and `python.abiflags`.
pub const SCHEMA: u32 = 2;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    /// Normalized application name (PEP 503), used for cache paths.
    pub app: String,
    pub version: String,
    pub entry: Entry,
    pub python: Python,
    /// Target triple the executable was built for.
    pub target: String,
    /// The first argument that opens the management commands (`EXE self info`).
    pub self_command: String,
    /// The tool that wrote the payload, for `inspect` and bug reports.
    pub builder: String,
    pub blobs: Vec<Blob>,
    /// Byte-compile the wheels fetched on first run (the build asked for it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub compile_fetched: bool,
    /// Where new releases are published, and the keys that may sign them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
}

/// An updatable build: `EXE self update` reads `<channel>/channel.json`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// The channel's base URL (https, or http: the document is signed either way).
    pub channel: String,
    /// Trusted ed25519 public keys, base64 (32 bytes each).
    pub keys: Vec<String>,
    /// Look for a new release once a day, in the background (`--update-check daily`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub check_daily: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What the executable runs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    #[serde(default)]
    pub kind: EntryKind,
    /// Importable module, e.g. `myapp.cli` (kinds `function` and `module`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub module: String,
    /// Attribute path inside the module, e.g. `main` or `App.run` (kind `function`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub function: String,
    /// The console script a `function` entry came from, or the file of the
    /// app's `.data/scripts` a `program` or `script` entry runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// `module:function`, called as a console script calls it.
    #[default]
    Function,
    /// `python -m module`.
    Module,
    /// A native program (or a script with its own `#!`) from the app's
    /// `.data/scripts`, executed directly: no Python starts.
    Program,
    /// A Python script (`#!python`) from the app's `.data/scripts`, run by
    /// the app's interpreter.
    Script,
}

impl EntryKind {
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::Function => "function",
            EntryKind::Module => "module",
            EntryKind::Program => "program",
            EntryKind::Script => "script",
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Python {
    /// Full version, e.g. `3.12.7`.
    pub version: String,
    /// sha256 of the blob holding the distribution.
    pub blob: String,
    /// The interpreter, relative to the distribution blob (`python/bin/python3.12`).
    pub executable: String,
    /// `t` for a free-threaded build (PEP 703), whose library directory is
    /// `python3.X` + `t`; empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub abiflags: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    /// A python-build-standalone tree (`python/...`).
    Python,
    /// One installed wheel: `site-packages/`, `bin/`, `data/`.
    Wheel,
    /// The network-capable launcher a lazy executable runs on its first run
    /// (`pyseal-launcher`), so that its own launcher carries no network code.
    Tool,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Blob {
    /// sha256 of the blob's uncompressed tar stream; also its name in the cache.
    pub sha256: String,
    pub kind: BlobKind,
    /// What it is, for people: `cpython-3.12.7`, `click-8.1.7`.
    pub name: String,
    /// Uncompressed size in bytes.
    pub size: u64,
    pub source: Source,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
/// Externally tagged (`{"payload": {...}}`): cheaper to parse than a tag field.
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Source {
    /// zstd frame inside the executable, at `offset` from the payload start.
    Payload { offset: u64, length: u64 },
    /// A file fetched on first run (lazy mode): a distribution archive for a
    /// `python` blob, a wheel for a `wheel` blob.
    Url {
        url: String,
        /// sha256 and size of the file itself.
        sha256: String,
        size: u64,
        /// How a runtime mirror (PYSEAL_PYTHON_MIRROR, PYSEAL_INDEX_MIRROR) rebuilds the URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mirror: Option<Mirror>,
    },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    pub kind: MirrorKind,
    /// Appended to the mirror's base URL, e.g. `20241008/cpython-...tar.gz`.
    pub path: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MirrorKind {
    /// python-build-standalone releases: PYSEAL_PYTHON_MIRROR.
    Python,
    /// Package files: PYSEAL_INDEX_MIRROR.
    Index,
}

impl MirrorKind {
    pub fn variable(self) -> &'static str {
        match self {
            MirrorKind::Python => "PYSEAL_PYTHON_MIRROR",
            MirrorKind::Index => "PYSEAL_INDEX_MIRROR",
        }
    }
}

/// The cache name of a wheel installed on first run: derived from the wheel's
/// hash (and the installer's layout version), as its tree has no tar stream.
pub fn installed_wheel_id(wheel_sha256: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("pyseal installed wheel 1\n{wheel_sha256}").as_bytes());
    crate::payload::hex(&digest)
}

impl Manifest {
    pub fn from_json(bytes: &[u8]) -> Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt(format!("the payload manifest is not valid: {e}")))?;
        if m.schema > SCHEMA {
            return Err(Error::new(format!(
                "this executable was written by a newer pyseal (manifest schema {}, this launcher reads {SCHEMA})",
                m.schema
            ))
            .with_hint("rebuild it with the pyseal that built its launcher"));
        }
        m.validate()?;
        Ok(m)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Checks everything later code turns into paths or Python source, so a crafted
    /// manifest can neither escape the cache nor inject code into the entry script.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |what: &str, value: &str| Error::corrupt(format!("the payload manifest has an invalid {what}: {value:?}"));
        if !is_safe_name(&self.app) {
            return Err(bad("app name", &self.app));
        }
        if !is_safe_name(&self.version) {
            return Err(bad("version", &self.version));
        }
        self.validate_entry()?;
        if !matches!(self.python.abiflags.as_str(), "" | "t") {
            return Err(bad("python abiflags", &self.python.abiflags));
        }
        if !is_python_version(&self.python.version) {
            return Err(bad("python version", &self.python.version));
        }
        if !is_relative_clean(&self.python.executable) {
            return Err(bad("python executable", &self.python.executable));
        }
        let word_char = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
        if self.self_command.is_empty()
            || self.self_command.starts_with('-')
            || !self.self_command.bytes().all(word_char)
        {
            return Err(bad("self command", &self.self_command));
        }
        let mut python_blob = false;
        for blob in &self.blobs {
            if !is_sha256_hex(&blob.sha256) {
                return Err(bad("blob hash", &blob.sha256));
            }
            if let Source::Url { url, sha256, mirror, .. } = &blob.source {
                if !is_sha256_hex(sha256) {
                    return Err(bad("download hash", sha256));
                }
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(bad("download URL", url));
                }
                if mirror.as_ref().is_some_and(|m| m.path.starts_with('/') || m.path.contains("..")) {
                    return Err(bad("mirror path", url));
                }
                // A wheel installed on first run lives under a name derived from
                // its hash, never under one the manifest could pick freely.
                if blob.kind == BlobKind::Wheel && blob.sha256 != installed_wheel_id(sha256) {
                    return Err(bad("installed wheel name", &blob.sha256));
                }
            }
            if blob.kind == BlobKind::Tool && !matches!(blob.source, Source::Payload { .. }) {
                return Err(Error::corrupt("the payload manifest names a launcher tool that is not embedded"));
            }
            python_blob |= blob.kind == BlobKind::Python && blob.sha256 == self.python.blob;
        }
        if self.blobs.iter().filter(|b| b.kind == BlobKind::Tool).count() > 1 {
            return Err(Error::corrupt("the payload manifest names more than one launcher tool"));
        }
        if !python_blob {
            return Err(Error::corrupt("the payload manifest names no Python distribution blob"));
        }
        if let Some(update) = &self.update {
            let url = &update.channel;
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.chars().any(char::is_control) {
                return Err(bad("update channel", url));
            }
            let b64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
            if update.keys.is_empty()
                || update.keys.len() > 16
                || update.keys.iter().any(|k| k.len() != 44 || !k.chars().all(b64))
            {
                return Err(Error::corrupt("the payload manifest has invalid update keys"));
            }
            if !self.blobs.iter().any(|b| b.kind == BlobKind::Tool) {
                return Err(Error::corrupt(
                    "the payload manifest has an update channel but no launcher tool to use it",
                ));
            }
        }
        Ok(())
    }

    /// Module and function become Python source, a script a path: each must be
    /// exactly what its kind needs and nothing more.
    fn validate_entry(&self) -> Result<()> {
        let e = &self.entry;
        let bad =
            |what: &str, value: &str| Error::corrupt(format!("the payload manifest has an invalid {what}: {value:?}"));
        let script_ok = |s: &Option<String>| s.as_deref().is_none_or(is_safe_name);
        if !script_ok(&e.script) {
            return Err(bad("entry script", e.script.as_deref().unwrap_or_default()));
        }
        match e.kind {
            EntryKind::Function => {
                if !is_dotted_identifier(&e.module) {
                    return Err(bad("entry module", &e.module));
                }
                if !is_dotted_identifier(&e.function) {
                    return Err(bad("entry function", &e.function));
                }
            }
            EntryKind::Module => {
                if !is_dotted_identifier(&e.module) {
                    return Err(bad("entry module", &e.module));
                }
                if !e.function.is_empty() || e.script.is_some() {
                    return Err(bad("module entry", &e.function));
                }
            }
            EntryKind::Program | EntryKind::Script => {
                if e.script.is_none() || !e.module.is_empty() || !e.function.is_empty() {
                    return Err(bad("script entry", &e.module));
                }
            }
        }
        Ok(())
    }

    /// `python3.12`, or `python3.13t` for a free-threaded build: the library
    /// directory name.
    pub fn python_lib_dir(&self) -> Option<String> {
        let (major, minor) = self.python_minor()?;
        Some(format!("python{major}.{minor}{}", self.python.abiflags))
    }

    /// `(3, 12)` from `3.12.7`.
    pub fn python_minor(&self) -> Option<(u32, u32)> {
        let mut parts = self.python.version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// Whether any blob is fetched on first run.
    pub fn is_lazy(&self) -> bool {
        self.blobs.iter().any(|b| matches!(b.source, Source::Url { .. }))
    }

    /// The embedded network-capable launcher of a lazy executable.
    pub fn tool_blob(&self) -> Option<&Blob> {
        self.blobs.iter().find(|b| b.kind == BlobKind::Tool)
    }

    pub fn python_blob(&self) -> &Blob {
        // validate() guarantees it exists.
        self.blobs.iter().find(|b| b.sha256 == self.python.blob).unwrap_or(&self.blobs[0])
    }
}

/// Names that become one path component: letters, digits, `.-_+!`, not starting with a dot.
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+!".contains(&b))
}

pub fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A relative `/`-separated path without `..`, `.` or empty components, and
/// without control characters (it ends up in pyvenv.cfg, one setting a line)
/// or `:` (on Windows `C:x` would leave the directory it is joined to).
pub fn is_relative_clean(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.chars().any(char::is_control)
        && s.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains(['\\', ':']))
}

impl Python {
    /// The interpreter inside the unpacked distribution, joined a component at
    /// a time: Windows reaches long paths as `\\?\` paths, where `/` is no separator.
    pub fn executable_in(&self, root: &Path) -> PathBuf {
        self.executable.split('/').fold(root.to_path_buf(), |p, c| p.join(c))
    }
}

/// `3.12.7`, `3.15.0rc1`: what patchlevel.h says, nothing else.
pub fn is_python_version(s: &str) -> bool {
    let (release, pre) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let numbers: Vec<&str> = release.split('.').collect();
    let pre_ok = pre.is_empty()
        || ["a", "b", "rc"].iter().any(|label| {
            pre.strip_prefix(label).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    numbers.len() == 3
        && numbers.iter().all(|n| !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && pre_ok
}

/// A valid manifest for unit tests.
#[cfg(test)]
pub(crate) fn sample() -> Manifest {
    let sha = "a".repeat(64);
    Manifest {
        schema: SCHEMA,
        app: "demo".into(),
        version: "1.0".into(),
        entry: Entry {
            kind: EntryKind::Function,
            module: "demo.cli".into(),
            function: "main".into(),
            script: Some("demo".into()),
        },
        python: Python {
            version: "3.12.1".into(),
            blob: sha.clone(),
            executable: "python/bin/python3.12".into(),
            abiflags: String::new(),
        },
        target: "x86_64-unknown-linux-gnu".into(),
        self_command: "self".into(),
        builder: "pyseal test".into(),
        compile_fetched: false,
        update: None,
        blobs: vec![Blob {
            sha256: sha,
            kind: BlobKind::Python,
            name: "cpython-3.12.1".into(),
            size: 10,
            source: Source::Payload { offset: 0, length: 5 },
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let m = sample();
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn refuses_code_in_entry_points() {
        let mut m = sample();
        m.entry.function = "main;import os".into();
        let err = Manifest::from_json(&m.to_json()).unwrap_err();
        assert!(err.message.contains("entry function"), "{}", err.message);
    }

    #[test]
    fn refuses_path_tricks() {
        let mut m = sample();
        m.app = "../../etc".into();
        assert!(Manifest::from_json(&m.to_json()).is_err());
        let mut m = sample();
        m.python.executable = "python/../../bin/sh".into();
        assert!(Manifest::from_json(&m.to_json()).is_err());
        // On Windows a drive-relative component would replace the directory it is joined to.
        for tricky in ["C:/Windows/System32/cmd.exe", "python/C:cmd.exe", "python\\..\\..\\cmd.exe"] {
            let mut m = sample();
            m.python.executable = tricky.into();
            assert!(Manifest::from_json(&m.to_json()).is_err(), "{tricky}");
        }
    }

    #[test]
    fn joins_the_interpreter_a_component_at_a_time() {
        let m = sample();
        let root = Path::new("root");
        assert_eq!(m.python.executable_in(root), root.join("python").join("bin").join("python3.12"));
    }

    #[test]
    fn refuses_newer_schema_with_a_hint() {
        let mut m = sample();
        m.schema = SCHEMA + 1;
        let err = Manifest::from_json(&m.to_json()).unwrap_err();
        assert!(err.hint.is_some());
    }

    #[test]
    fn each_entry_kind_takes_only_its_own_fields() {
        let mut m = sample();
        m.entry =
            Entry { kind: EntryKind::Module, module: "http.server".into(), function: String::new(), script: None };
        assert!(Manifest::from_json(&m.to_json()).is_ok());
        m.entry.function = "main".into();
        assert!(Manifest::from_json(&m.to_json()).is_err());
        m.entry = Entry {
            kind: EntryKind::Program,
            module: String::new(),
            function: String::new(),
            script: Some("ruff".into()),
        };
        assert!(Manifest::from_json(&m.to_json()).is_ok());
        m.entry.script = Some("../../bin/sh".into());
        assert!(Manifest::from_json(&m.to_json()).is_err());
        m.entry.script = None;
        assert!(Manifest::from_json(&m.to_json()).is_err());
    }

    #[test]
    fn free_threaded_builds_have_their_own_library_directory() {
        let mut m = sample();
        m.python.abiflags = "t".into();
        assert_eq!(m.python_lib_dir().as_deref(), Some("python3.12t"));
        m.python.abiflags = "d".into();
        assert!(Manifest::from_json(&m.to_json()).is_err());
    }

    #[test]
    fn refuses_line_breaks_on_their_way_to_pyvenv_cfg() {
        let mut m = sample();
        m.python.version = "3.12.1\ninclude-system-site-packages = true".into();
        assert!(Manifest::from_json(&m.to_json()).unwrap_err().message.contains("python version"));
        let mut m = sample();
        m.python.executable = "python/bin/python3.12\nhome = /tmp".into();
        assert!(Manifest::from_json(&m.to_json()).is_err());
        assert!(is_python_version("3.15.0rc1") && is_python_version("3.12.7") && !is_python_version("3.12"));
    }

    #[test]
    fn identifiers() {
        assert!(is_dotted_identifier("a.b_c.d1"));
        assert!(!is_dotted_identifier("a..b"));
        assert!(!is_dotted_identifier("1a"));
        assert!(!is_dotted_identifier("a(b)"));
    }
}
