//! A new stub as a zstd delta against the old one (`zstd --patch-from`): a
//! release built by a newer pyseal changes the stub, mostly in small places,
//! and an installed executable already has the old stub.

use std::io::Read;

/// The delta that turns `old` into `new` (zstd with `old` as its reference prefix).
#[cfg(feature = "writer")]
pub fn encode(old: &[u8], new: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = zstd::stream::write::Encoder::with_ref_prefix(Vec::new(), 19, old)?;
    // The window must reach back over the whole reference.
    encoder.window_log(window_log(old.len().max(new.len())))?;
    encoder.include_checksum(true)?;
    encoder.write_all(new)?;
    encoder.finish()
}

/// `new` again from `old` and the delta; at most `limit` bytes.
pub fn decode(old: &[u8], delta: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut decoder = zstd::stream::read::Decoder::with_ref_prefix(std::io::BufReader::new(delta), old)?;
    decoder.window_log_max(window_log(limit as usize).max(27))?;
    let mut out = Vec::new();
    decoder.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the delta makes more than the stub's size"));
    }
    Ok(out)
}

fn window_log(len: usize) -> u32 {
    (usize::BITS - len.max(1 << 10).leading_zeros()).clamp(10, 30)
}

#[cfg(all(test, feature = "writer"))]
mod tests {
    #[test]
    fn a_delta_rebuilds_the_new_stub_from_the_old() {
        let old: Vec<u8> = (0..400_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut new = old.clone();
        new[1000..1100].fill(7);
        new.extend_from_slice(b"more");
        let delta = super::encode(&old, &new).unwrap();
        assert!(delta.len() < new.len() / 20, "{} bytes", delta.len());
        assert_eq!(super::decode(&old, &delta, new.len() as u64).unwrap(), new);
        assert!(super::decode(&old, &delta, 10).is_err());
    }
}
