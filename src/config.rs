//! `nhiscope.toml`: parsed and validated with no I/O beyond reading the file, then merged with
//! flags (flags win).

use std::path::{Path, PathBuf};

use anyhow::Context;
use nhiscope_scanners::aws::AwsOptions;
use serde::Deserialize;

/// The configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Format version of this file.
    pub version: Option<u32>,
    /// Store file.
    pub store: Option<PathBuf>,
    pub aws: AwsOptions,
}

impl Config {
    /// Reads `path`, or `./nhiscope.toml` when present, or defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let local = PathBuf::from("nhiscope.toml");
                if !local.exists() {
                    return Ok(Config::default());
                }
                local
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("invalid config {}", path.display()))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        if let Some(v) = config.version {
            anyhow::ensure!(
                v == 1,
                "unsupported config version {v} (this nhiscope reads version 1)"
            );
        }
        Ok(config)
    }

    /// The store path: flag/env, then config, then the platform data dir.
    pub fn store_path(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return p.to_path_buf();
        }
        if let Some(p) = &self.store {
            return p.clone();
        }
        directories::ProjectDirs::from("dev", "nhiscope", "nhiscope")
            .map(|d| d.data_dir().join("nhiscope.duckdb"))
            .unwrap_or_else(|| PathBuf::from("nhiscope.duckdb"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accounts_and_rejects_unknown_keys() {
        let c = Config::parse(
            r#"version = 1
[aws]
profiles = ["prod"]
concurrency = 4
[[aws.assume_roles]]
role_arn = "arn:aws:iam::222233334444:role/NhiscopeAudit"
external_id = "x-1"
"#,
        )
        .expect("valid");
        assert_eq!(c.aws.profiles, vec!["prod"]);
        assert_eq!(c.aws.assume_roles[0].external_id.as_deref(), Some("x-1"));
        assert_eq!(c.aws.max_attempts, AwsOptions::default().max_attempts);
        let err = Config::parse("[aws]\nprofile = \"x\"\n").expect_err("unknown key");
        assert!(format!("{err:#}").contains("profile"));
    }
}
