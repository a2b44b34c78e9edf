//! PEP 440 ordering, enough to tell an upgrade from a downgrade: release
//! numbers, pre-releases (`a`, `b`, `rc`), post- and dev-releases, and an
//! epoch. Local versions (`+local`) are compared by their public part only.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    /// (0 = a, 1 = b, 2 = rc, number)
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Version {
    /// Parses a normalized or common PEP 440 spelling; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Version> {
        let s = text.trim().to_ascii_lowercase();
        let s = s.strip_prefix('v').unwrap_or(&s);
        let s = s.split('+').next()?;
        let (epoch, rest) = match s.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, s),
        };
        let digits_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (release_text, mut tail) = rest.split_at(digits_end);
        let release: Vec<u64> =
            release_text.trim_end_matches('.').split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
        if release.is_empty() {
            return None;
        }
        let mut v = Version { epoch, release, pre: None, post: None, dev: None };
        let number = |t: &str| -> (u64, usize) {
            let t2 = t.trim_start_matches(['.', '-', '_']);
            let skipped = t.len() - t2.len();
            let end = t2.find(|c: char| !c.is_ascii_digit()).unwrap_or(t2.len());
            (t2[..end].parse().unwrap_or(0), skipped + end)
        };
        loop {
            tail = tail.trim_start_matches(['.', '-', '_']);
            if tail.is_empty() {
                return Some(v);
            }
            let kinds: [(&str, Option<u8>); 9] = [
                ("alpha", Some(0)),
                ("beta", Some(1)),
                ("preview", Some(2)),
                ("pre", Some(2)),
                ("rc", Some(2)),
                ("c", Some(2)),
                ("a", Some(0)),
                ("b", Some(1)),
                ("post", None),
            ];
            if let Some(rest) = tail.strip_prefix("dev") {
                let (n, used) = number(rest);
                v.dev = Some(n);
                tail = &rest[used..];
                continue;
            }
            let (word, kind) = kinds.iter().find(|(w, _)| tail.starts_with(w))?;
            let rest = &tail[word.len()..];
            let (n, used) = number(rest);
            match kind {
                Some(k) if v.pre.is_none() && v.post.is_none() => v.pre = Some((*k, n)),
                None if v.post.is_none() => v.post = Some(n),
                _ => return None,
            }
            tail = &rest[used..];
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.release.len().max(other.release.len());
        let part = |v: &Version, i: usize| v.release.get(i).copied().unwrap_or(0);
        let release =
            (0..len).map(|i| part(self, i).cmp(&part(other, i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal);
        // A dev release of a final comes before its pre-releases: 1.0.dev1 < 1.0a1 < 1.0.
        let pre_key = |v: &Version| match (v.pre, v.post, v.dev) {
            (None, None, Some(_)) => (0u8, 0u64),
            (Some((k, n)), _, _) => (1 + k, n),
            (None, _, _) => (9, 0),
        };
        let post_key = |v: &Version| v.post.map_or(0, |n| n + 1);
        let dev_key = |v: &Version| v.dev.unwrap_or(u64::MAX);
        self.epoch
            .cmp(&other.epoch)
            .then(release)
            .then(pre_key(self).cmp(&pre_key(other)))
            .then(post_key(self).cmp(&post_key(other)))
            .then(dev_key(self).cmp(&dev_key(other)))
    }
}

/// Equal as PEP 440 says: `1.0 == 1.0.0`.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn orders_as_pep_440_does() {
        let ordered = [
            "1.0.dev1",
            "1.0a1",
            "1.0a2.dev1",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.0.1",
            "1.1",
            "2!0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1.0").cmp(&v("1.0.0")), Ordering::Equal);
        assert_eq!(v("1.0+local").cmp(&v("1.0")), Ordering::Equal);
        assert!(v("v2.0") > v("1.9.9"));
        assert!(v("1.0-rc.1") == v("1.0rc1"));
    }

    #[test]
    fn refuses_what_is_not_a_version() {
        for bad in ["", "x", "1.0x", "1.0a1b1", "..", "1.0.post1.post2"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
