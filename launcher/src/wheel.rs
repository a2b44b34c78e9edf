//! Installing a wheel (PEP 427) into a blob tree, without running any code.
//!
//! ```text
//! <dest>/site-packages/   the wheel's root, plus .data/purelib and .data/platlib
//! <dest>/bin/             .data/scripts and generated console-script wrappers
//! <dest>/data/            .data/data (installed relative to the environment root)
//! <dest>/include/<name>/  .data/headers
//! ```
//! Every file is checked against RECORD while it is written; a file missing from
//! RECORD, a hash or size mismatch, or a path leaving the tree fails the install.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::archive::clean_relative;
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WheelInfo {
    /// `Name` from METADATA, as written by the project.
    pub name: String,
    pub version: String,
    pub requires_python: Option<String>,
    pub requires_dist: Vec<String>,
    /// `Tag` lines of the WHEEL file.
    pub tags: Vec<String>,
    pub dist_info: String,
    pub console_scripts: BTreeMap<String, String>,
    pub gui_scripts: BTreeMap<String, String>,
    /// Files of `.data/scripts` (native programs, `#!python` scripts), by name.
    pub data_scripts: Vec<String>,
    /// Top-level names installed into site-packages.
    pub top_level: Vec<String>,
    pub files: u64,
}

/// The shell-and-Python prologue that makes a script run with the `python`
/// next to it, wherever the environment ends up.
const RELOCATABLE_SHEBANG: &str = "#!/bin/sh\n'''exec' \"$(dirname -- \"$0\")/python\" \"$0\" \"$@\"\n' '''\n";

fn bad(wheel: &Path, msg: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("wheel {}: {msg}", wheel.display()))
}

/// Reads a wheel's metadata and entry points without installing it.
pub fn read_info(wheel: &Path) -> Result<WheelInfo> {
    let mut zip = open(wheel)?;
    let dist_info = find_dist_info(wheel, &mut zip)?;
    info_from(wheel, &mut zip, &dist_info, Vec::new(), 0)
}

/// Installs `wheel` into the empty or missing directory `dest`.
pub fn install(wheel: &Path, dest: &Path) -> Result<WheelInfo> {
    install_tree(wheel, dest, false)
}

/// The same, with files made read-only when the tree goes into the shared cache.
pub fn install_tree(wheel: &Path, dest: &Path, read_only: bool) -> Result<WheelInfo> {
    let mut zip = open(wheel)?;
    let dist_info = find_dist_info(wheel, &mut zip)?;
    let wheel_file = read_text(wheel, &mut zip, &format!("{dist_info}/WHEEL"))?;
    let headers = parse_headers(&wheel_file);
    match headers.get("wheel-version").and_then(|v| v.first()) {
        Some(v) if v.split('.').next() == Some("1") => {}
        Some(v) => return Err(bad(wheel, format!("Wheel-Version {v} is not supported (only 1.x)"))),
        None => return Err(bad(wheel, "WHEEL file has no Wheel-Version")),
    }
    let record_name = format!("{dist_info}/RECORD");
    let record = parse_record(wheel, &read_text(wheel, &mut zip, &record_name)?)?;
    let data_prefix = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));
    let project = dist_info.trim_end_matches(".dist-info").split('-').next().unwrap_or("").to_string();

    fs::create_dir_all(dest).ctx("create directory", dest)?;
    let site = dest.join("site-packages");
    let mut written: Vec<(String, String, u64)> = Vec::new(); // RECORD rows of the installed tree
    let mut seen: HashSet<String> = HashSet::new();
    let mut top_level: HashSet<String> = HashSet::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(wheel, format!("cannot read entry {i}: {e}")))?;
        let name = entry.name().map_err(|e| bad(wheel, format!("entry {i} has an unreadable name: {e}")))?.into_owned();
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(bad(wheel, format!("{name} is a symlink, which wheels may not contain")));
        }
        let rel = clean_relative(Path::new(&name))
            .filter(|p| !p.as_os_str().is_empty() && !name.contains('\\') && !name.starts_with('/'))
            .ok_or_else(|| bad(wheel, format!("{name} points outside the installation")))?;
        if !seen.insert(name.clone()) {
            return Err(bad(wheel, format!("{name} appears twice")));
        }
        if name == record_name || name == format!("{record_name}.jws") || name == format!("{record_name}.p7s") {
            continue;
        }
        let expected = record.get(&name).ok_or_else(|| bad(wheel, format!("{name} is not listed in RECORD")))?;
        let (target, record_path) = destination(wheel, dest, &site, &rel, &name, &data_prefix, &project)?;
        if let Some(top) = record_path.split('/').next().filter(|_| target.starts_with(&site)) {
            top_level.insert(top.to_string());
        }
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0) || target.starts_with(dest.join("bin"));
        let is_script = target.starts_with(dest.join("bin"));
        let (hash, size) = write_checked(&mut entry, &target, Mode { executable, read_only }, is_script, expected)
            .map_err(|e| match e {
                WriteError::Mismatch(what) => bad(wheel, format!("{name} does not match RECORD ({what})")),
                WriteError::Io(e) => Error::io("write", &target, e),
            })?;
        written.push((record_path, hash, size));
    }
    for listed in record.keys() {
        if !seen.contains(listed) && *listed != record_name && !listed.ends_with("/") {
            return Err(bad(wheel, format!("RECORD lists {listed}, which the wheel lacks")));
        }
    }

    let info = info_from(wheel, &mut zip, &dist_info, top_level.into_iter().collect(), written.len() as u64)?;
    let bin = dest.join("bin");
    for (script, target) in info.console_scripts.iter().chain(&info.gui_scripts) {
        let path = bin.join(script);
        if clean_relative(Path::new(script)).is_none_or(|p| p.components().count() != 1) {
            return Err(bad(wheel, format!("entry point name {script:?} is not a plain file name")));
        }
        let source = script_wrapper(target)
            .ok_or_else(|| bad(wheel, format!("entry point {script} = {target} is not module:function")))?;
        fs::create_dir_all(&bin).ctx("create directory", &bin)?;
        write_new(&path, source.as_bytes(), Mode { executable: true, read_only }).ctx("write", &path)?;
        written.push((format!("../../../bin/{script}"), record_hash(source.as_bytes()), source.len() as u64));
    }
    let installer_path = site.join(&dist_info).join("INSTALLER");
    write_new(&installer_path, b"pyseal\n", Mode { executable: false, read_only }).ctx("write", &installer_path)?;
    written.push((format!("{dist_info}/INSTALLER"), record_hash(b"pyseal\n"), 7));
    written.push((format!("{dist_info}/RECORD"), String::new(), 0));
    let mut csv = String::new();
    for (path, hash, size) in &written {
        let size = if hash.is_empty() { String::new() } else { size.to_string() };
        csv.push_str(&format!("{},{hash},{size}\n", csv_field(path)));
    }
    let record_out = site.join(&dist_info).join("RECORD");
    write_new(&record_out, csv.as_bytes(), Mode { executable: false, read_only }).ctx("write", &record_out)?;
    Ok(info)
}

fn open(wheel: &Path) -> Result<zip::ZipArchive<File>> {
    let file = File::open(wheel).ctx("open wheel", wheel)?;
    zip::ZipArchive::new(file).map_err(|e| bad(wheel, format!("not a valid zip archive ({e})")))
}

fn find_dist_info(wheel: &Path, zip: &mut zip::ZipArchive<File>) -> Result<String> {
    let names: Vec<String> = zip.file_names().filter_map(|n| n.ok().map(|n| n.into_owned())).collect();
    let mut found: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_suffix("/WHEEL"))
        .filter(|d| d.ends_with(".dist-info") && !d.contains('/'))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(bad(wheel, "has no .dist-info/WHEEL file")),
        _ => Err(bad(wheel, format!("has several .dist-info directories: {}", found.join(", ")))),
    }
}

fn read_text(wheel: &Path, zip: &mut zip::ZipArchive<File>, name: &str) -> Result<String> {
    let mut entry = zip.by_name(name).map_err(|_| bad(wheel, format!("has no {name}")))?;
    let mut text = String::new();
    entry.read_to_string(&mut text).map_err(|e| bad(wheel, format!("cannot read {name}: {e}")))?;
    Ok(text)
}

fn info_from(
    wheel: &Path,
    zip: &mut zip::ZipArchive<File>,
    dist_info: &str,
    mut top_level: Vec<String>,
    files: u64,
) -> Result<WheelInfo> {
    let metadata = parse_headers(&read_text(wheel, zip, &format!("{dist_info}/METADATA"))?);
    let wheel_headers = parse_headers(&read_text(wheel, zip, &format!("{dist_info}/WHEEL"))?);
    let first = |h: &HashMap<String, Vec<String>>, k: &str| h.get(k).and_then(|v| v.first()).cloned();
    let name = first(&metadata, "name").ok_or_else(|| bad(wheel, "METADATA has no Name"))?;
    let version = first(&metadata, "version").ok_or_else(|| bad(wheel, "METADATA has no Version"))?;
    let entry_points = match zip.by_name(&format!("{dist_info}/entry_points.txt")) {
        Ok(mut e) => {
            let mut s = String::new();
            e.read_to_string(&mut s).map_err(|e| bad(wheel, format!("cannot read entry_points.txt: {e}")))?;
            parse_ini(&s)
        }
        Err(_) => HashMap::new(),
    };
    top_level.sort();
    let scripts_prefix = format!("{}.data/scripts/", dist_info.trim_end_matches(".dist-info"));
    let mut data_scripts: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter_map(|n| n.strip_prefix(&scripts_prefix).map(str::to_owned))
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .collect();
    data_scripts.sort();
    Ok(WheelInfo {
        name,
        version,
        requires_python: first(&metadata, "requires-python"),
        requires_dist: metadata.get("requires-dist").cloned().unwrap_or_default(),
        tags: wheel_headers.get("tag").cloned().unwrap_or_default(),
        dist_info: dist_info.to_string(),
        console_scripts: entry_points.get("console_scripts").cloned().unwrap_or_default(),
        gui_scripts: entry_points.get("gui_scripts").cloned().unwrap_or_default(),
        data_scripts,
        top_level,
        files,
    })
}

/// Where a wheel member goes, and its path as the installed RECORD names it.
fn destination(
    wheel: &Path,
    dest: &Path,
    site: &Path,
    rel: &Path,
    name: &str,
    data_prefix: &str,
    project: &str,
) -> Result<(PathBuf, String)> {
    let Some(rest) = name.strip_prefix(data_prefix) else {
        return Ok((site.join(rel), name.to_string()));
    };
    let (scheme, inner) =
        rest.split_once('/').ok_or_else(|| bad(wheel, format!("{name} is not inside a scheme directory")))?;
    let inner_rel = clean_relative(Path::new(inner))
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| bad(wheel, format!("{name} points outside the installation")))?;
    Ok(match scheme {
        "purelib" | "platlib" => (site.join(&inner_rel), inner.to_string()),
        "scripts" => (dest.join("bin").join(&inner_rel), format!("../../../bin/{inner}")),
        "data" => (dest.join("data").join(&inner_rel), format!("../../../{inner}")),
        "headers" => {
            (dest.join("include").join(project).join(&inner_rel), format!("../../../include/{project}/{inner}"))
        }
        other => return Err(bad(wheel, format!("{name} uses unknown install scheme {other:?}"))),
    })
}

enum WriteError {
    Mismatch(String),
    Io(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// Streams one member to disk while hashing it with RECORD's algorithm. Scripts
/// starting with `#!python` get the relocatable prologue instead of that line.
#[derive(Clone, Copy)]
#[cfg_attr(not(unix), allow(dead_code))]
struct Mode {
    executable: bool,
    read_only: bool,
}

fn write_checked(
    entry: &mut impl Read,
    target: &Path,
    mode: Mode,
    is_script: bool,
    expected: &RecordEntry,
) -> Result<(String, u64), WriteError> {
    let mut data = Vec::new();
    entry.read_to_end(&mut data).map_err(|e| WriteError::Mismatch(format!("unreadable: {e}")))?;
    if let Some(size) = expected.size
        && size != data.len() as u64
    {
        return Err(WriteError::Mismatch(format!("size {} instead of {size}", data.len())));
    }
    let actual = match expected.algorithm.as_str() {
        "sha256" => b64(&Sha256::digest(&data)),
        "sha384" => b64(&Sha384::digest(&data)),
        "sha512" => b64(&Sha512::digest(&data)),
        other => {
            return Err(WriteError::Mismatch(format!("RECORD uses hash {other:?}; sha256 or stronger is required")));
        }
    };
    if actual != expected.digest {
        return Err(WriteError::Mismatch("hash differs".into()));
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    let content = if is_script { rewrite_shebang(&data) } else { data };
    write_new(target, &content, mode)?;
    Ok((record_hash(&content), content.len() as u64))
}

fn rewrite_shebang(data: &[u8]) -> Vec<u8> {
    let first_line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let first = &data[..first_line_end];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first.starts_with(b"#!python") {
        let mut out = RELOCATABLE_SHEBANG.as_bytes().to_vec();
        out.extend_from_slice(data.get(first_line_end + 1..).unwrap_or_default());
        out
    } else {
        data.to_vec()
    }
}

fn write_new(path: &Path, data: &[u8], mode: Mode) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let bits = if mode.executable { 0o755 } else { 0o644 };
        options.mode(if mode.read_only { bits & !0o222 } else { bits });
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)?.write_all(data)
}

fn script_wrapper(target: &str) -> Option<String> {
    // `module:attr.path [extra1, extra2]`; extras do not change what runs.
    let target = target.split('[').next()?.trim();
    let (module, attr) = target.split_once(':')?;
    let (module, attr) = (module.trim(), attr.trim());
    if !crate::manifest::is_dotted_identifier(module) || !crate::manifest::is_dotted_identifier(attr) {
        return None;
    }
    let head = attr.split('.').next()?;
    Some(format!(
        "{RELOCATABLE_SHEBANG}# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom {module} import {head}\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit({attr}())\n"
    ))
}

fn b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn record_hash(data: &[u8]) -> String {
    format!("sha256={}", b64(&Sha256::digest(data)))
}

struct RecordEntry {
    algorithm: String,
    digest: String,
    size: Option<u64>,
}

fn parse_record(wheel: &Path, text: &str) -> Result<HashMap<String, RecordEntry>> {
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(line);
        let path = fields.first().cloned().unwrap_or_default();
        let hash = fields.get(1).cloned().unwrap_or_default();
        let size = fields.get(2).and_then(|s| s.trim().parse().ok());
        if hash.is_empty() {
            // Only RECORD itself (and its signatures) may go unhashed.
            if !path.ends_with(".dist-info/RECORD") && !path.ends_with("RECORD.jws") && !path.ends_with("RECORD.p7s") {
                return Err(bad(wheel, format!("RECORD line {} has no hash for {path}", n + 1)));
            }
            out.insert(path, RecordEntry { algorithm: String::new(), digest: String::new(), size: None });
            continue;
        }
        let (algorithm, digest) =
            hash.split_once('=').ok_or_else(|| bad(wheel, format!("RECORD line {} has a malformed hash", n + 1)))?;
        out.insert(path, RecordEntry { algorithm: algorithm.to_string(), digest: digest.to_string(), size });
    }
    Ok(out)
}

/// One RFC 4180 line: fields separated by commas, optionally double-quoted.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Email-style headers (METADATA, WHEEL): lower-cased keys, repeated keys kept in order.
fn parse_headers(text: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        if line.is_empty() {
            break; // the body (long description) follows
        }
        if line.starts_with([' ', '\t']) {
            continue; // continuation of a folded header we do not need
        }
        if let Some((k, v)) = line.split_once(':') {
            out.entry(k.trim().to_ascii_lowercase()).or_default().push(v.trim().to_string());
        }
    }
    out
}

/// entry_points.txt: `[section]` then `name = value` lines.
fn parse_ini(text: &str) -> HashMap<String, BTreeMap<String, String>> {
    let mut out: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone()).or_default().insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn make_wheel(dir: &Path, files: &[(&str, &[u8])], record_override: Option<&str>) -> PathBuf {
        let path = dir.join("demo-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let mut record = String::new();
        for (name, data) in files {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
            record.push_str(&format!("{name},{},{}\n", record_hash(data), data.len()));
        }
        record.push_str("demo-1.0.dist-info/RECORD,,\n");
        zip.start_file("demo-1.0.dist-info/RECORD", SimpleFileOptions::default()).unwrap();
        zip.write_all(record_override.unwrap_or(&record).as_bytes()).unwrap();
        zip.finish().unwrap();
        path
    }

    fn base_files() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("demo/__init__.py", b"def main():\n    return 0\n"),
            (
                "demo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\nRequires-Dist: click>=8\n\nbody: text\n",
            ),
            ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
            ("demo-1.0.dist-info/entry_points.txt", b"[console_scripts]\ndemo = demo:main\n"),
            ("demo-1.0.data/scripts/tool", b"#!python\nprint('hi')\n"),
            ("demo-1.0.data/data/share/demo.txt", b"shared"),
        ]
    }

    #[test]
    fn installs_schemes_scripts_and_record() {
        let t = tempfile::tempdir().unwrap();
        let whl = make_wheel(t.path(), &base_files(), None);
        let dest = t.path().join("tree");
        let info = install(&whl, &dest).unwrap();
        assert_eq!(info.name, "Demo");
        assert_eq!(info.requires_dist, vec!["click>=8"]);
        assert_eq!(info.console_scripts.get("demo").map(String::as_str), Some("demo:main"));
        assert_eq!(info.top_level, vec!["demo", "demo-1.0.dist-info"]);
        assert!(dest.join("site-packages/demo/__init__.py").is_file());
        assert_eq!(fs::read_to_string(dest.join("data/share/demo.txt")).unwrap(), "shared");
        let tool = fs::read_to_string(dest.join("bin/tool")).unwrap();
        assert!(tool.starts_with("#!/bin/sh\n") && tool.ends_with("print('hi')\n"), "{tool}");
        let wrapper = fs::read_to_string(dest.join("bin/demo")).unwrap();
        assert!(wrapper.contains("from demo import main"));
        let record = fs::read_to_string(dest.join("site-packages/demo-1.0.dist-info/RECORD")).unwrap();
        assert!(record.contains("../../../bin/demo,sha256="));
        assert!(record.contains("demo-1.0.dist-info/INSTALLER,"));
    }

    #[test]
    fn refuses_tampered_files() {
        let t = tempfile::tempdir().unwrap();
        let files = base_files();
        let mut record = String::new();
        for (name, data) in &files {
            let data: &[u8] = if *name == "demo/__init__.py" { b"evil" } else { data };
            record.push_str(&format!("{name},{},{}\n", record_hash(data), data.len()));
        }
        let whl = make_wheel(t.path(), &files, Some(&record));
        let err = install(&whl, &t.path().join("tree")).unwrap_err();
        assert!(err.message.contains("demo/__init__.py does not match RECORD"), "{}", err.message);
    }

    #[test]
    fn refuses_unlisted_files_and_escapes() {
        let t = tempfile::tempdir().unwrap();
        let files = base_files();
        let record: String = files[1..].iter().map(|(n, d)| format!("{n},{},{}\n", record_hash(d), d.len())).collect();
        let whl = make_wheel(t.path(), &files, Some(&record));
        let err = install(&whl, &t.path().join("tree")).unwrap_err();
        assert!(err.message.contains("not listed in RECORD"), "{}", err.message);

        let mut files = base_files();
        files.push(("../escape.py", b"x"));
        let whl = make_wheel(t.path(), &files, None);
        let err = install(&whl, &t.path().join("tree2")).unwrap_err();
        assert!(err.message.contains("outside"), "{}", err.message);
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(split_csv("\"a,b\",sha256=x,3"), vec!["a,b", "sha256=x", "3"]);
        assert_eq!(split_csv("a\"\"b,,"), vec!["ab", "", ""]);
    }
}
