//! Platforms: `os/arch[/variant]` as OCI image indexes and `--platform` spell them.

use std::fmt;

/// An OCI platform, e.g. linux/amd64 or linux/arm/v7.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// Parses `os/arch` or `os/arch/variant`.
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let ok =
            |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform::new(os, arch)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform {
                variant: Some(variant.to_string()),
                ..Platform::new(os, arch)
            }),
            _ => Err(format!(
                "{text:?} is not a platform: expected os/arch, e.g. linux/amd64 or darwin/arm64"
            )),
        }
    }

    /// A comma-separated list (`linux/amd64,linux/arm64`), duplicates dropped, order kept.
    pub fn parse_list(text: &str) -> Result<Vec<Platform>, String> {
        let mut list: Vec<Platform> = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let p = Platform::parse(part)?;
            if !list.contains(&p) {
                list.push(p);
            }
        }
        if list.is_empty() {
            return Err("no platform given: expected e.g. linux/amd64,linux/arm64".into());
        }
        Ok(list)
    }

    /// Go's architecture name for what `uname -m` / Docker's `Architecture` say.
    pub fn go_arch(machine: &str) -> &str {
        match machine {
            "x86_64" | "amd64" => "amd64",
            "aarch64" | "arm64" => "arm64",
            other => other,
        }
    }

    /// The platform this kindling binary runs on (for the kind CLI): darwin/arm64, linux/amd64, ...
    pub fn this_host() -> Platform {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        Platform::new(os, Platform::go_arch(std::env::consts::ARCH))
    }

    /// The image platform of a Docker engine that reports `os` and `architecture` (`docker info`).
    pub fn of_engine(os: &str, architecture: &str) -> Platform {
        Platform::new(os, Platform::go_arch(architecture))
    }

    /// Whether an index entry's platform is this one. A missing variant matches any (linux/arm64
    /// images are published as arm64/v8 or plain arm64).
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.architecture == architecture
            && match (&self.variant, variant) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => true,
            }
    }

    /// kind's release file for this host, e.g. `kind-darwin-arm64`.
    pub fn kind_release_file(&self) -> String {
        format!("kind-{}-{}", self.os, self.architecture)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Platform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Platform, D::Error> {
        let text = String::deserialize(d)?;
        Platform::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_and_print_as_docker_spells_them() {
        let list =
            Platform::parse_list("linux/amd64, linux/arm64,linux/amd64,linux/arm/v7").unwrap();
        let text: Vec<String> = list.iter().map(|p| p.to_string()).collect();
        assert_eq!(text, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/amd64/v2/x").is_err());
        assert!(Platform::parse_list(" , ").is_err());
    }

    #[test]
    fn engine_architectures_map_to_go_names() {
        assert_eq!(
            Platform::of_engine("linux", "x86_64").to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::of_engine("linux", "aarch64").to_string(),
            "linux/arm64"
        );
    }

    #[test]
    fn a_platform_without_variant_matches_any_variant() {
        let arm64 = Platform::new("linux", "arm64");
        assert!(arm64.matches("linux", "arm64", Some("v8")));
        assert!(arm64.matches("linux", "arm64", None));
        assert!(!arm64.matches("linux", "amd64", None));
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert!(!v7.matches("linux", "arm", Some("v6")));
        assert!(!v7.matches("linux", "arm", None));
    }
}
