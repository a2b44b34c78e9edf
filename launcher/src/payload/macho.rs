//! The payload inside a Mach-O executable (macOS), where code signing keeps it.
//!
//! Bytes appended after a Mach-O's `__LINKEDIT` make `codesign` refuse the
//! file, and arm64 macOS kills a program whose signature does not cover it.
//! So the payload gets a segment of its own, `__PYSEAL` (one section,
//! `__payload`), inserted just before `__LINKEDIT`, which moves up and stays
//! last; every offset into `__LINKEDIT` moves with it. Then the file is signed
//! ad hoc, as a linker signs it: one CodeDirectory of SHA-256 page hashes over
//! everything before the signature, the payload included. A later
//! `codesign --sign` (or `rcodesign sign`) replaces that signature and keeps
//! the segment.
//!
//! ```text
//! [ header | load commands (+ LC_SEGMENT_64 __PYSEAL) | __TEXT ... __DATA ... ]
//! [ __PYSEAL: payload, padded to 16 KiB ][ __LINKEDIT: symbols ... | signature ]
//! ```
//! The launcher finds its payload from its own load commands (`locate`), the
//! same code for every architecture and for `pyseal inspect` on Linux.

use crate::error::{Error, Result};

pub const SEGMENT: &[u8; 16] = b"__PYSEAL\0\0\0\0\0\0\0\0";
pub const SECTION: &[u8; 16] = b"__payload\0\0\0\0\0\0\0";

const MH_MAGIC_64: u32 = 0xfeed_facf;
const LC_SEGMENT_64: u32 = 0x19;
const SEGMENT_CMD_SIZE: usize = 72;
const SECTION_SIZE: usize = 80;
const HEADER_SIZE: usize = 32;

/// Whether the bytes start a 64-bit little-endian Mach-O (arm64, x86_64).
pub fn is_macho(head: &[u8]) -> bool {
    head.len() >= 4 && u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == MH_MAGIC_64
}

/// Where the payload section lies: `(file offset, length)`, or `None` when
/// the executable has no `__PYSEAL` segment (a bare stub). `header` holds the
/// file's first bytes, at least the header and its load commands.
pub fn locate(header: &[u8]) -> Result<Option<(u64, u64)>> {
    let h = Header::parse(header)?;
    for cmd in h.commands(header)? {
        if cmd.kind == LC_SEGMENT_64 && cmd.bytes.get(8..24) == Some(&SEGMENT[..]) {
            let nsects = u32_at(cmd.bytes, 64)? as usize;
            for i in 0..nsects {
                let s = cmd.bytes.get(SEGMENT_CMD_SIZE + i * SECTION_SIZE..SEGMENT_CMD_SIZE + (i + 1) * SECTION_SIZE);
                let s = s.ok_or_else(|| bad("a section lies outside its load command"))?;
                if s[0..16] == SECTION[..] {
                    return Ok(Some((u32_at(s, 48)? as u64, u64_at(s, 40)?)));
                }
            }
        }
    }
    Ok(None)
}

/// How many bytes of the file `locate` needs: the header and its commands.
pub fn header_len(head: &[u8]) -> Result<usize> {
    Ok(HEADER_SIZE + Header::parse(head)?.sizeofcmds as usize)
}

fn bad(what: &str) -> Error {
    Error::corrupt(format!("not a Mach-O executable pyseal can read: {what}"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or_else(|| bad("truncated"))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    let s = b.get(at..at + 8).ok_or_else(|| bad("truncated"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

struct Header {
    #[cfg_attr(not(feature = "writer"), allow(dead_code))]
    cputype: u32,
    ncmds: u32,
    sizeofcmds: u32,
}

struct Command<'a> {
    kind: u32,
    /// Offset of the command in the file.
    #[cfg_attr(not(feature = "writer"), allow(dead_code))]
    at: usize,
    bytes: &'a [u8],
}

impl Header {
    fn parse(b: &[u8]) -> Result<Header> {
        if !is_macho(b) {
            return Err(bad("no 64-bit Mach-O header (fat and 32-bit files are not supported)"));
        }
        Ok(Header { cputype: u32_at(b, 4)?, ncmds: u32_at(b, 16)?, sizeofcmds: u32_at(b, 20)? })
    }

    fn commands<'a>(&self, b: &'a [u8]) -> Result<Vec<Command<'a>>> {
        let end = HEADER_SIZE + self.sizeofcmds as usize;
        if end > b.len() {
            return Err(bad("its load commands run past the file"));
        }
        let mut at = HEADER_SIZE;
        let mut out = Vec::with_capacity(self.ncmds as usize);
        for _ in 0..self.ncmds {
            let kind = u32_at(b, at)?;
            let size = u32_at(b, at + 4)? as usize;
            if size < 8 || at + size > end {
                return Err(bad("a load command has a bad size"));
            }
            out.push(Command { kind, at, bytes: &b[at..at + size] });
            at += size;
        }
        Ok(out)
    }
}

#[cfg(feature = "writer")]
pub use writer::embed;

#[cfg(feature = "writer")]
mod writer {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom, Write};

    const LC_SYMTAB: u32 = 0x2;
    const LC_DYSYMTAB: u32 = 0xb;
    const LC_CODE_SIGNATURE: u32 = 0x1d;
    const LC_DYLD_INFO: u32 = 0x22;
    const LC_DYLD_INFO_ONLY: u32 = 0x8000_0022;
    const LC_DYLD_CHAINED_FIXUPS: u32 = 0x8000_0034;
    /// `linkedit_data_command`s: one `dataoff` each into `__LINKEDIT`.
    const LINKEDIT_DATA: [u32; 8] = [
        LC_CODE_SIGNATURE,
        0x1e,        // LC_SEGMENT_SPLIT_INFO
        0x26,        // LC_FUNCTION_STARTS
        0x29,        // LC_DATA_IN_CODE
        0x2b,        // LC_DYLIB_CODE_SIGN_DRS
        0x2e,        // LC_LINKER_OPTIMIZATION_HINT
        0x8000_0033, // LC_DYLD_EXPORTS_TRIE
        0x36,        // LC_ATOM_INFO
    ];
    const CPU_TYPE_ARM64: u32 = 0x0100_000c;
    /// Pages of the new segment, and of the signature's hashes.
    const SEGMENT_ALIGN: u64 = 0x4000;
    const HASH_PAGE: u64 = 4096;
    /// A CodeDirectory of version 0x20400 (with the executable segment).
    const CD_HEADER: usize = 88;
    const CS_ADHOC: u32 = 0x2;
    const CS_LINKER_SIGNED: u32 = 0x2_0000;
    const CS_EXECSEG_MAIN_BINARY: u64 = 0x1;

    struct Segment {
        vmaddr: u64,
        fileoff: u64,
        filesize: u64,
    }

    fn segment(c: &Command) -> Result<Segment> {
        Ok(Segment { vmaddr: u64_at(c.bytes, 24)?, fileoff: u64_at(c.bytes, 40)?, filesize: u64_at(c.bytes, 48)? })
    }

    fn put_u32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn put_u64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn align(v: u64, to: u64) -> u64 {
        v.div_ceil(to) * to
    }

    /// Writes `stub` with a `__PYSEAL` segment of `payload_len` bytes (filled
    /// by `write_payload`) to `out`, then signs it ad hoc as `identifier`.
    pub fn embed(
        stub: &[u8],
        payload_len: u64,
        identifier: &str,
        out: &mut std::fs::File,
        write_payload: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        let io =
            |e: std::io::Error| Error::new(format!("cannot write the executable: {}", crate::error::describe_io(&e)));
        let h = Header::parse(stub)?;
        let commands = h.commands(stub)?;
        if commands.iter().any(|c| c.kind == LC_DYLD_CHAINED_FIXUPS) {
            return Err(bad("it uses chained fixups, which a new segment would invalidate (link the stub with zig)"));
        }
        let segments: Vec<(&Command, Segment)> =
            commands.iter().filter(|c| c.kind == LC_SEGMENT_64).map(|c| Ok((c, segment(c)?))).collect::<Result<_>>()?;
        let (linkedit_cmd, linkedit) = segments
            .iter()
            .find(|(c, _)| c.bytes.get(8..19) == Some(b"__LINKEDIT\0"))
            .ok_or_else(|| bad("it has no __LINKEDIT segment"))?;
        if segments.iter().any(|(_, s)| s.fileoff > linkedit.fileoff)
            || linkedit.fileoff + linkedit.filesize != stub.len() as u64
        {
            return Err(bad("__LINKEDIT is not its last segment, or does not end the file"));
        }
        if segments.iter().any(|(c, _)| c.bytes.get(8..24) == Some(&SEGMENT[..])) {
            return Err(bad("it carries a payload already"));
        }
        let text = segments
            .iter()
            .find(|(c, _)| c.bytes.get(8..15) == Some(b"__TEXT\0"))
            .map(|(_, s)| (s.fileoff, s.filesize))
            .ok_or_else(|| bad("it has no __TEXT segment"))?;
        let old_sig = commands.iter().find(|c| c.kind == LC_CODE_SIGNATURE);
        // The new commands take their room from the padding before the first section.
        let first_section = segments
            .iter()
            .flat_map(|(c, _)| {
                let n = u32_at(c.bytes, 64).unwrap_or(0) as usize;
                (0..n).filter_map(move |i| {
                    let s =
                        c.bytes.get(SEGMENT_CMD_SIZE + i * SECTION_SIZE..SEGMENT_CMD_SIZE + (i + 1) * SECTION_SIZE)?;
                    let off = u32::from_le_bytes([s[48], s[49], s[50], s[51]]) as u64;
                    (off > 0).then_some(off)
                })
            })
            .min()
            .ok_or_else(|| bad("it has no sections"))?;
        let cmds_end = HEADER_SIZE + h.sizeofcmds as usize;
        let added = SEGMENT_CMD_SIZE + SECTION_SIZE + if old_sig.is_none() { 16 } else { 0 };
        if (first_section as usize) < cmds_end + added {
            return Err(bad("its header has no room for one more load command (link the stub with -headerpad)"));
        }

        // The payload segment, where __LINKEDIT starts now; __LINKEDIT moves up.
        let grow = align(payload_len, SEGMENT_ALIGN);
        let linkedit_data_end = old_sig.map_or(stub.len() as u64, |c| u32_at(c.bytes, 8).unwrap_or(0) as u64);
        let linkedit_data = &stub[linkedit.fileoff as usize..linkedit_data_end as usize];
        let new_linkedit_off = linkedit.fileoff + grow;
        let sig_off = align(new_linkedit_off + linkedit_data.len() as u64, 16);
        let n_slots = sig_off.div_ceil(HASH_PAGE);
        let ident = format!("{identifier}\0");
        let cd_len = CD_HEADER + ident.len() + 32 * n_slots as usize;
        let sig_len = 12 + 8 + cd_len;
        let page = if h.cputype == CPU_TYPE_ARM64 { 0x4000 } else { 0x1000 };
        let linkedit_filesize = sig_off + sig_len as u64 - new_linkedit_off;

        // The new header: the old commands, the segment before __LINKEDIT's,
        // offsets into __LINKEDIT moved, a code signature command added if none.
        let mut header = stub[..first_section as usize].to_vec();
        let mut cmds: Vec<Vec<u8>> = Vec::new();
        for c in &commands {
            if c.at == linkedit_cmd.at {
                cmds.push(payload_segment(linkedit.vmaddr, linkedit.fileoff, grow, payload_len));
            }
            let mut b = c.bytes.to_vec();
            shift(&mut b, c.kind, linkedit.fileoff, grow)?;
            if c.at == linkedit_cmd.at {
                put_u64(&mut b, 24, linkedit.vmaddr + grow);
                put_u64(&mut b, 32, align(linkedit_filesize, page));
                put_u64(&mut b, 40, new_linkedit_off);
                put_u64(&mut b, 48, linkedit_filesize);
            }
            if c.kind == LC_CODE_SIGNATURE {
                put_u32(&mut b, 8, sig_off as u32);
                put_u32(&mut b, 12, sig_len as u32);
            }
            cmds.push(b);
        }
        if old_sig.is_none() {
            let mut b = vec![0u8; 16];
            put_u32(&mut b, 0, LC_CODE_SIGNATURE);
            put_u32(&mut b, 4, 16);
            put_u32(&mut b, 8, sig_off as u32);
            put_u32(&mut b, 12, sig_len as u32);
            cmds.push(b);
        }
        let all: Vec<u8> = cmds.concat();
        header[HEADER_SIZE..HEADER_SIZE + all.len()].copy_from_slice(&all);
        for byte in &mut header[HEADER_SIZE + all.len()..cmds_end.max(HEADER_SIZE + all.len())] {
            *byte = 0;
        }
        put_u32(&mut header, 16, cmds.len() as u32);
        put_u32(&mut header, 20, all.len() as u32);
        if sig_off > u32::MAX as u64 {
            return Err(Error::new("the payload is too large for a Mach-O executable (4 GB)"));
        }

        // Everything before the signature, then the hashes of its pages.
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut *out);
        w.write_all(&header).map_err(io)?;
        w.write_all(&stub[first_section as usize..linkedit.fileoff as usize]).map_err(io)?;
        let mut counted = Counted { inner: &mut w, n: 0 };
        write_payload(&mut counted)?;
        if counted.n != payload_len {
            return Err(Error::new("internal: the payload's length changed while it was written"));
        }
        w.write_all(&vec![0u8; (grow - payload_len) as usize]).map_err(io)?;
        w.write_all(linkedit_data).map_err(io)?;
        w.write_all(&vec![0u8; (sig_off - new_linkedit_off - linkedit_data.len() as u64) as usize]).map_err(io)?;
        w.flush().map_err(io)?;
        drop(w);

        let mut hashes = Vec::with_capacity(32 * n_slots as usize);
        out.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, (&mut *out).take(sig_off));
        let mut page_buf = vec![0u8; HASH_PAGE as usize];
        for _ in 0..n_slots {
            let n = read_full(&mut reader, &mut page_buf).map_err(io)?;
            hashes.extend_from_slice(&Sha256::digest(&page_buf[..n]));
        }
        drop(reader);
        let signature = code_signature(&ident, sig_off, text, &hashes, cd_len, sig_len);
        out.seek(SeekFrom::Start(sig_off)).map_err(io)?;
        out.write_all(&signature).map_err(io)?;
        Ok(())
    }

    fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match r.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// `LC_SEGMENT_64 __PYSEAL` with its one section, read-only.
    fn payload_segment(vmaddr: u64, fileoff: u64, size: u64, payload_len: u64) -> Vec<u8> {
        let mut b = vec![0u8; SEGMENT_CMD_SIZE + SECTION_SIZE];
        put_u32(&mut b, 0, LC_SEGMENT_64);
        put_u32(&mut b, 4, (SEGMENT_CMD_SIZE + SECTION_SIZE) as u32);
        b[8..24].copy_from_slice(SEGMENT);
        put_u64(&mut b, 24, vmaddr);
        put_u64(&mut b, 32, size);
        put_u64(&mut b, 40, fileoff);
        put_u64(&mut b, 48, size);
        put_u32(&mut b, 56, 1); // maxprot: read
        put_u32(&mut b, 60, 1); // initprot: read
        put_u32(&mut b, 64, 1); // nsects
        let s = SEGMENT_CMD_SIZE;
        b[s..s + 16].copy_from_slice(SECTION);
        b[s + 16..s + 32].copy_from_slice(SEGMENT);
        put_u64(&mut b, s + 32, vmaddr);
        put_u64(&mut b, s + 40, payload_len);
        put_u32(&mut b, s + 48, fileoff as u32);
        put_u32(&mut b, s + 52, 14); // align: 2^14
        b
    }

    /// Moves every offset of a command that points into the old `__LINKEDIT` up by `by`.
    fn shift(b: &mut [u8], kind: u32, linkedit: u64, by: u64) -> Result<()> {
        let bump32 = |b: &mut [u8], at: usize| -> Result<()> {
            let v = u32_at(b, at)? as u64;
            if v >= linkedit {
                put_u32(
                    b,
                    at,
                    u32::try_from(v + by)
                        .map_err(|_| Error::new("the payload is too large for a Mach-O executable (4 GB)"))?,
                );
            }
            Ok(())
        };
        match kind {
            LC_SYMTAB => {
                bump32(b, 8)?; // symoff
                bump32(b, 16)?; // stroff
            }
            LC_DYSYMTAB => {
                for at in [32, 40, 48, 56, 64, 72] {
                    bump32(b, at)?; // tocoff, modtaboff, extrefsymoff, indirectsymoff, extreloff, locreloff
                }
            }
            LC_DYLD_INFO | LC_DYLD_INFO_ONLY => {
                for at in [8, 16, 24, 32, 40] {
                    bump32(b, at)?; // rebase, bind, weak_bind, lazy_bind, export
                }
            }
            k if LINKEDIT_DATA.contains(&k) => bump32(b, 8)?,
            _ => {}
        }
        Ok(())
    }

    /// A SuperBlob holding one CodeDirectory (version 0x20400, ad hoc and
    /// linker-signed, SHA-256, 4 KiB pages), big-endian as Apple's format is.
    fn code_signature(
        ident: &str,
        code_limit: u64,
        text: (u64, u64),
        hashes: &[u8],
        cd_len: usize,
        sig_len: usize,
    ) -> Vec<u8> {
        let mut cd = Vec::with_capacity(cd_len);
        let be32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_be_bytes());
        let be64 = |v: &mut Vec<u8>, x: u64| v.extend_from_slice(&x.to_be_bytes());
        be32(&mut cd, 0xfade_0c02); // CSMAGIC_CODEDIRECTORY
        be32(&mut cd, cd_len as u32);
        be32(&mut cd, 0x20400); // version
        be32(&mut cd, CS_ADHOC | CS_LINKER_SIGNED);
        be32(&mut cd, (CD_HEADER + ident.len()) as u32); // hashOffset
        be32(&mut cd, CD_HEADER as u32); // identOffset
        be32(&mut cd, 0); // nSpecialSlots
        be32(&mut cd, (hashes.len() / 32) as u32); // nCodeSlots
        be32(&mut cd, code_limit as u32);
        cd.extend_from_slice(&[32, 2, 0, 12]); // hashSize, hashType (SHA-256), platform, pageSize (2^12)
        be32(&mut cd, 0); // spare2
        be32(&mut cd, 0); // scatterOffset
        be32(&mut cd, 0); // teamOffset
        be32(&mut cd, 0); // spare3
        be64(&mut cd, 0); // codeLimit64
        be64(&mut cd, text.0); // execSegBase
        be64(&mut cd, text.1); // execSegLimit
        be64(&mut cd, CS_EXECSEG_MAIN_BINARY);
        cd.extend_from_slice(ident.as_bytes());
        cd.extend_from_slice(hashes);
        let mut sig = Vec::with_capacity(sig_len);
        be32(&mut sig, 0xfade_0cc0); // CSMAGIC_EMBEDDED_SIGNATURE
        be32(&mut sig, sig_len as u32);
        be32(&mut sig, 1); // count
        be32(&mut sig, 0); // CSSLOT_CODEDIRECTORY
        be32(&mut sig, 20); // its offset
        sig.extend_from_slice(&cd);
        sig
    }

    struct Counted<'a, W: Write> {
        inner: &'a mut W,
        n: u64,
    }

    impl<W: Write> Write for Counted<'_, W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.n += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
}

#[cfg(all(test, feature = "writer"))]
mod tests {
    use super::*;
    use object::LittleEndian as LE;
    use object::macho;
    use object::read::macho::{LoadCommandVariant, MachHeader, Segment};
    use sha2::{Digest, Sha256};
    use std::io::Read;

    /// A small but complete executable layout, as a linker writes it: __TEXT
    /// with one section after padding room, __LINKEDIT last holding a symbol
    /// table (and, for arm64, a linker signature).
    fn stub(arm64: bool) -> Vec<u8> {
        let signed = arm64;
        let mut cmds: Vec<Vec<u8>> = Vec::new();
        let seg = |name: &[u8],
                   vmaddr: u64,
                   vmsize: u64,
                   fileoff: u64,
                   filesize: u64,
                   sect: Option<(&[u8], u64, u32, u64)>| {
            let mut b = vec![0u8; 72 + if sect.is_some() { 80 } else { 0 }];
            let n = b.len() as u32;
            b[0..4].copy_from_slice(&LC_SEGMENT_64.to_le_bytes());
            b[4..8].copy_from_slice(&n.to_le_bytes());
            b[8..8 + name.len()].copy_from_slice(name);
            b[24..32].copy_from_slice(&vmaddr.to_le_bytes());
            b[32..40].copy_from_slice(&vmsize.to_le_bytes());
            b[40..48].copy_from_slice(&fileoff.to_le_bytes());
            b[48..56].copy_from_slice(&filesize.to_le_bytes());
            b[56..60].copy_from_slice(&5u32.to_le_bytes());
            b[60..64].copy_from_slice(&5u32.to_le_bytes());
            if let Some((sname, addr, offset, size)) = sect {
                b[64..68].copy_from_slice(&1u32.to_le_bytes());
                b[72..72 + sname.len()].copy_from_slice(sname);
                b[88..88 + name.len()].copy_from_slice(name);
                b[104..112].copy_from_slice(&addr.to_le_bytes());
                b[112..120].copy_from_slice(&size.to_le_bytes());
                b[120..124].copy_from_slice(&offset.to_le_bytes());
            }
            b
        };
        let linkedit_len: u64 = if signed { 32 + 64 } else { 32 };
        cmds.push(seg(b"__TEXT", 0x1_0000_0000, 0x4000, 0, 0x4000, Some((b"__text", 0x1_0000_1000, 0x1000, 0x100))));
        cmds.push(seg(b"__LINKEDIT", 0x1_0000_4000, 0x4000, 0x4000, linkedit_len, None));
        let mut symtab = vec![0u8; 24];
        symtab[0..4].copy_from_slice(&0x2u32.to_le_bytes());
        symtab[4..8].copy_from_slice(&24u32.to_le_bytes());
        symtab[8..12].copy_from_slice(&0x4000u32.to_le_bytes());
        symtab[12..16].copy_from_slice(&1u32.to_le_bytes());
        symtab[16..20].copy_from_slice(&0x4010u32.to_le_bytes());
        symtab[20..24].copy_from_slice(&16u32.to_le_bytes());
        cmds.push(symtab);
        if signed {
            let mut cs = vec![0u8; 16];
            cs[0..4].copy_from_slice(&0x1du32.to_le_bytes());
            cs[4..8].copy_from_slice(&16u32.to_le_bytes());
            cs[8..12].copy_from_slice(&0x4020u32.to_le_bytes());
            cs[12..16].copy_from_slice(&64u32.to_le_bytes());
            cmds.push(cs);
        }
        let all = cmds.concat();
        let mut f = vec![0u8; 0x4000 + linkedit_len as usize];
        f[0..4].copy_from_slice(&0xfeed_facfu32.to_le_bytes());
        f[4..8].copy_from_slice(&(if arm64 { 0x0100_000cu32 } else { 0x0100_0007 }).to_le_bytes());
        f[12..16].copy_from_slice(&2u32.to_le_bytes());
        f[16..20].copy_from_slice(&(cmds.len() as u32).to_le_bytes());
        f[20..24].copy_from_slice(&(all.len() as u32).to_le_bytes());
        f[32..32 + all.len()].copy_from_slice(&all);
        for (i, b) in f[0x1000..0x1100].iter_mut().enumerate() {
            *b = i as u8; // "code"
        }
        f[0x4010..0x4020].copy_from_slice(b"_main\0\0\0\0\0\0\0\0\0\0\0");
        f
    }

    fn embed_into(stub: &[u8], payload: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("exe"))
            .unwrap();
        embed(stub, payload.len() as u64, "demo-app", &mut file, |w| {
            w.write_all(payload).map_err(|e| Error::new(e.to_string()))
        })
        .unwrap();
        let mut out = Vec::new();
        std::fs::File::open(dir.path().join("exe")).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    /// Checks the result with `object`, a reader written by others: the
    /// payload segment, __LINKEDIT last and whole, the moved symbol table, and
    /// a signature whose every page hash matches the file.
    fn check(out: &[u8], payload: &[u8]) {
        let header = macho::MachHeader64::<LE>::parse(out, 0).unwrap();
        let endian = header.endian().unwrap();
        let mut commands = header.load_commands(endian, out, 0).unwrap();
        let mut segments = Vec::new();
        let mut signature = None;
        let mut symtab = None;
        while let Some(cmd) = commands.next().unwrap() {
            match cmd.variant().unwrap() {
                LoadCommandVariant::Segment64(seg, _) => {
                    segments.push((seg.name().to_vec(), seg.fileoff.get(endian), seg.filesize.get(endian)))
                }
                LoadCommandVariant::LinkeditData(data) if data.cmd.get(endian) == macho::LC_CODE_SIGNATURE => {
                    signature = Some(*data)
                }
                LoadCommandVariant::Symtab(s) => symtab = Some((s.stroff.get(endian), s.strsize.get(endian))),
                _ => {}
            }
        }
        let names: Vec<&[u8]> = segments.iter().map(|(n, _, _)| n.as_slice()).collect();
        assert_eq!(names, [&b"__TEXT"[..], b"__PYSEAL", b"__LINKEDIT"]);
        let (_, off, size) = segments[1];
        assert_eq!(&out[off as usize..off as usize + payload.len()], payload);
        assert!(size >= payload.len() as u64 && size % 0x4000 == 0);
        let (_, le_off, le_size) = segments[2];
        assert_eq!(le_off + le_size, out.len() as u64, "__LINKEDIT must end the file");
        let (stroff, strsize) = symtab.unwrap();
        assert_eq!(&out[stroff as usize..(stroff + 5) as usize], b"_main");
        assert!(stroff as u64 + strsize as u64 <= le_off + le_size);
        // The signature: one CodeDirectory, ad hoc, covering everything before it.
        let sig = signature.unwrap().code_signature(endian, out).unwrap();
        let cd = sig.blobs().find_map(|b| b.unwrap().code_directory().unwrap()).unwrap();
        assert_eq!(cd.ident().unwrap(), b"demo-app");
        let limit = cd.code_limit();
        assert_eq!(limit, signature.unwrap().dataoff.get(endian) as u64);
        for (i, page) in out[..limit as usize].chunks(4096).enumerate() {
            assert_eq!(cd.code_hash(i as u32).unwrap(), Sha256::digest(page).as_slice(), "page {i}");
        }
        let exec = cd.exec_seg().unwrap();
        assert_eq!(
            (exec.exec_seg_base.get(object::BigEndian), exec.exec_seg_limit.get(object::BigEndian)),
            (0, 0x4000)
        );
        // And pyseal's own reader finds the payload from the load commands.
        assert_eq!(locate(out).unwrap(), Some((off, payload.len() as u64)));
    }

    #[test]
    fn embeds_and_signs_arm64_replacing_the_linker_signature() {
        let payload: Vec<u8> = (0..50_000u32).map(|i| (i * 7) as u8).collect();
        let out = embed_into(&stub(true), &payload);
        check(&out, &payload);
    }

    #[test]
    fn embeds_and_signs_x86_64_adding_a_signature() {
        let payload = vec![0x5a; 20_000];
        let out = embed_into(&stub(false), &payload);
        check(&out, &payload);
    }

    #[test]
    fn a_flipped_payload_byte_breaks_the_signature() {
        let payload = vec![1u8; 10_000];
        let mut out = embed_into(&stub(true), &payload);
        let (off, _) = locate(&out).unwrap().unwrap();
        out[off as usize + 5000] ^= 1;
        let page = (off as usize + 5000) / 4096;
        let header = macho::MachHeader64::<LE>::parse(&out[..], 0).unwrap();
        let endian = header.endian().unwrap();
        let mut commands = header.load_commands(endian, &out[..], 0).unwrap();
        while let Some(cmd) = commands.next().unwrap() {
            if let LoadCommandVariant::LinkeditData(data) = cmd.variant().unwrap()
                && data.cmd.get(endian) == macho::LC_CODE_SIGNATURE
            {
                let sig = data.code_signature(endian, &out[..]).unwrap();
                let cd = sig.blobs().find_map(|b| b.unwrap().code_directory().unwrap()).unwrap();
                let chunk = &out[page * 4096..(page + 1) * 4096];
                assert_ne!(cd.code_hash(page as u32).unwrap(), Sha256::digest(chunk).as_slice());
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_rewrite() {
        let mut no_room = stub(true);
        // The first section starts right after the load commands: no room for another.
        let cmds_end = 32 + u32::from_le_bytes(no_room[20..24].try_into().unwrap());
        no_room[32 + 72 + 48..32 + 72 + 52].copy_from_slice(&cmds_end.to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        let mut file = std::fs::File::create(dir.path().join("x")).unwrap();
        let err = embed(&no_room, 10, "x", &mut file, |_| Ok(())).unwrap_err();
        assert!(err.message.contains("no room"), "{}", err.message);
        assert!(locate(b"not a mach-o at all").is_err());
        assert_eq!(locate(&stub(true)).unwrap(), None);
    }
}
