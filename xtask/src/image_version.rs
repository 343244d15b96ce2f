//! `container/image.toml`: the worker image's semver version, what it downloads, and the digests released
//! so far. Pure: text in, text out (comments and layout kept, so a bump is a one-line diff in a pull request).

use semver::Version;
use std::collections::BTreeMap;
use toml_edit::{DocumentMut, Item, Table, value};

/// The tracked file, relative to the workspace root.
pub const PATH: &str = "container/image.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

/// What the image downloads at build time, with the checksums it must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Downloads {
    pub agent_version: String,
    pub agent_sha256: String,
    pub rcc_version: String,
    pub rcc_sha256: String,
}

/// The parsed file, and the document it came from (for edits that keep its comments).
#[derive(Debug, Clone)]
pub struct ImageFile {
    doc: DocumentMut,
    pub version: Version,
    pub downloads: Downloads,
    /// version → manifest digest (`sha256:…`).
    pub released: BTreeMap<Version, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageFileError {
    #[error("{PATH} is not valid TOML: {0}")]
    Syntax(String),
    #[error("{PATH}: {0}")]
    Invalid(String),
    #[error("{0} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.2)")]
    NotSemver(String),
    #[error("{new} is not newer than the current version {current}: versions only go up")]
    Downgrade { current: Version, new: Version },
    #[error(
        "version {version} was already released as {existing}; it cannot be recorded as {new} (released versions are immutable: bump the version)"
    )]
    AlreadyReleased {
        version: Version,
        existing: String,
        new: String,
    },
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

fn parse_version(s: &str) -> Result<Version, ImageFileError> {
    Version::parse(s.trim()).map_err(|_| ImageFileError::NotSemver(s.to_string()))
}

impl ImageFile {
    pub fn parse(text: &str) -> Result<ImageFile, ImageFileError> {
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| ImageFileError::Syntax(e.message().to_string()))?;
        let version = doc
            .get("version")
            .and_then(Item::as_str)
            .ok_or_else(|| ImageFileError::Invalid("`version = \"X.Y.Z\"` is missing".into()))?;
        let version = parse_version(version)?;
        let text_of = |table: &str, key: &str| -> Result<String, ImageFileError> {
            match doc.get(table).and_then(|t| t.get(key)) {
                None => Ok(String::new()),
                Some(item) => item.as_str().map(str::to_owned).ok_or_else(|| {
                    ImageFileError::Invalid(format!("[{table}] {key} must be a string"))
                }),
            }
        };
        let downloads = Downloads {
            agent_version: text_of("downloads", "agent_version")?,
            agent_sha256: text_of("downloads", "agent_sha256")?,
            rcc_version: text_of("downloads", "rcc_version")?,
            rcc_sha256: text_of("downloads", "rcc_sha256")?,
        };
        for (key, sum) in [
            ("agent_sha256", &downloads.agent_sha256),
            ("rcc_sha256", &downloads.rcc_sha256),
        ] {
            let is_sha256 = sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit());
            if !sum.is_empty() && !is_sha256 {
                return Err(ImageFileError::Invalid(format!(
                    "[downloads] {key} must be 64 hex digits (a SHA-256) or empty"
                )));
            }
        }
        let mut released = BTreeMap::new();
        if let Some(table) = doc.get("released") {
            let table = table
                .as_table()
                .ok_or_else(|| ImageFileError::Invalid("[released] must be a table".into()))?;
            for (v, digest) in table.iter() {
                let digest = digest.as_str().filter(|d| is_digest(d)).ok_or_else(|| {
                    ImageFileError::Invalid(format!(
                        "[released] \"{v}\" must be a digest (sha256: and 64 lowercase hex digits)"
                    ))
                })?;
                released.insert(parse_version(v)?, digest.to_string());
            }
        }
        Ok(ImageFile {
            doc,
            version,
            downloads,
            released,
        })
    }

    /// The file's text, with every edit applied.
    pub fn render(&self) -> String {
        self.doc.to_string()
    }

    /// The digest released for the current version, if any.
    pub fn current_digest(&self) -> Option<&str> {
        self.released.get(&self.version).map(String::as_str)
    }

    /// Sets the version; only upwards.
    pub fn set_version(&mut self, new: &str) -> Result<(), ImageFileError> {
        let new = parse_version(new)?;
        if new <= self.version {
            return Err(ImageFileError::Downgrade {
                current: self.version.clone(),
                new,
            });
        }
        self.doc["version"] = value(new.to_string());
        self.version = new;
        Ok(())
    }

    /// The next version of the given kind (pre-release and build metadata are dropped).
    pub fn bump(&mut self, kind: Bump) -> Result<&Version, ImageFileError> {
        let v = &self.version;
        let next = match kind {
            Bump::Major => Version::new(v.major + 1, 0, 0),
            Bump::Minor => Version::new(v.major, v.minor + 1, 0),
            Bump::Patch if v.pre.is_empty() => Version::new(v.major, v.minor, v.patch + 1),
            // 1.2.3-rc.1 → 1.2.3: the release the pre-release led to.
            Bump::Patch => Version::new(v.major, v.minor, v.patch),
        };
        self.set_version(&next.to_string())?;
        Ok(&self.version)
    }

    /// Records that `version` was released as `digest`. Recording the same digest again is a no-op (returns
    /// false); another digest for a released version is refused.
    pub fn record_release(
        &mut self,
        version: &Version,
        digest: &str,
    ) -> Result<bool, ImageFileError> {
        if !is_digest(digest) {
            return Err(ImageFileError::Invalid(format!(
                "{digest:?} is not a sha256 digest"
            )));
        }
        match self.released.get(version) {
            Some(existing) if existing == digest => return Ok(false),
            Some(existing) => {
                return Err(ImageFileError::AlreadyReleased {
                    version: version.clone(),
                    existing: existing.clone(),
                    new: digest.to_string(),
                });
            }
            None => {}
        }
        if self.doc.get("released").and_then(Item::as_table).is_none() {
            self.doc["released"] = Item::Table(Table::new());
        }
        self.doc["released"][&version.to_string()] = value(digest);
        self.released.insert(version.clone(), digest.to_string());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# The worker image.
version = "1.4.2"

[downloads]
agent_version = "7.9.3"
agent_sha256 = ""

# Released so far.
[released]
"1.4.1" = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
"#;
    const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn parses_version_downloads_and_releases() {
        let f = ImageFile::parse(SAMPLE).unwrap();
        assert_eq!(f.version, Version::new(1, 4, 2));
        assert_eq!(f.downloads.agent_version, "7.9.3");
        assert_eq!(f.released.len(), 1);
        assert_eq!(f.current_digest(), None);
    }

    #[test]
    fn bumps_keep_the_rest_of_the_file() {
        for (kind, expected) in [
            (Bump::Patch, "1.4.3"),
            (Bump::Minor, "1.5.0"),
            (Bump::Major, "2.0.0"),
        ] {
            let mut f = ImageFile::parse(SAMPLE).unwrap();
            assert_eq!(f.bump(kind).unwrap().to_string(), expected);
            let text = f.render();
            assert_eq!(
                text,
                SAMPLE.replace("version = \"1.4.2\"", &format!("version = \"{expected}\"")),
                "only the version line changes"
            );
            assert_eq!(
                ImageFile::parse(&text).unwrap().version.to_string(),
                expected
            );
        }
        let mut pre = ImageFile::parse(&SAMPLE.replace("1.4.2", "1.5.0-rc.1")).unwrap();
        assert_eq!(pre.bump(Bump::Patch).unwrap().to_string(), "1.5.0");
    }

    #[test]
    fn set_refuses_invalid_versions_and_downgrades() {
        let mut f = ImageFile::parse(SAMPLE).unwrap();
        for bad in ["1.4", "v1.5.0", "latest", "1.5.0.1", ""] {
            assert!(
                matches!(f.set_version(bad), Err(ImageFileError::NotSemver(_))),
                "{bad}"
            );
        }
        for not_newer in ["1.4.2", "1.4.1", "0.9.0", "1.4.2-rc.1"] {
            assert!(
                matches!(
                    f.set_version(not_newer),
                    Err(ImageFileError::Downgrade { .. })
                ),
                "{not_newer}"
            );
        }
        f.set_version("1.10.0").unwrap();
        assert_eq!(f.version.to_string(), "1.10.0");
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        let cases = [
            ("version = ", "not valid TOML"),
            ("name = \"x\"", "`version = \"X.Y.Z\"` is missing"),
            ("version = \"one\"", "not a semantic version"),
            ("version = 3", "`version = \"X.Y.Z\"` is missing"),
            (
                "version = \"1.0.0\"\n[released]\n\"1.0.0\" = \"latest\"",
                "must be a digest",
            ),
            (
                "version = \"1.0.0\"\n[downloads]\nagent_sha256 = \"abc\"",
                "64 hex digits",
            ),
        ];
        for (text, message) in cases {
            let err = ImageFile::parse(text).unwrap_err().to_string();
            assert!(err.contains(message), "{text:?}: {err}");
        }
    }

    #[test]
    fn releases_are_recorded_once() {
        let mut f = ImageFile::parse(SAMPLE).unwrap();
        let v = f.version.clone();
        assert!(f.record_release(&v, DIGEST).unwrap());
        assert!(!f.record_release(&v, DIGEST).unwrap(), "same digest: no-op");
        // (Not DIGEST.replace('2', "3"): that would also turn "sha256:" into "sha356:", an invalid digest.)
        let other = format!("sha256:{}", "3".repeat(64));
        assert!(matches!(
            f.record_release(&v, &other),
            Err(ImageFileError::AlreadyReleased { .. })
        ));
        let reparsed = ImageFile::parse(&f.render()).unwrap();
        assert_eq!(reparsed.current_digest(), Some(DIGEST));
        assert!(f.render().contains("# Released so far."));
        // A file without a [released] table gets one.
        let mut bare = ImageFile::parse("version = \"0.1.0\"\n").unwrap();
        bare.record_release(&Version::new(0, 1, 0), DIGEST).unwrap();
        assert_eq!(
            ImageFile::parse(&bare.render()).unwrap().current_digest(),
            Some(DIGEST)
        );
    }
}
