//! `nhiscope.toml`: parsed and validated with no I/O beyond reading the file, then merged with
//! flags (flags win).

use std::path::{Path, PathBuf};

use anyhow::Context;
use nhiscope_engine::rules::ParamOverrides;
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
    /// The file this configuration was read from.
    #[serde(skip)]
    pub origin: Option<PathBuf>,
    pub aws: AwsOptions,
    pub rules: RulesConfig,
    /// Reviewed findings, kept in the repository with the config.
    pub suppressions: Vec<SuppressionConfig>,
}

/// `[rules]`: which rules load and their parameters.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Load the built-in pack.
    pub builtin: bool,
    /// Extra rule directories (relative to the working directory).
    pub dirs: Vec<PathBuf>,
    /// Rule ids not to evaluate.
    pub disabled: Vec<String>,
    /// `[rules.params."<rule id>"]` tables overriding parameter defaults.
    pub params: ParamOverrides,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            builtin: true,
            dirs: Vec::new(),
            disabled: Vec::new(),
            params: ParamOverrides::default(),
        }
    }
}

/// `[[suppressions]]`: one finding (`finding = "F-..."`) or a rule (or `"*"`) on a resource
/// pattern, with a reason, an author and an optional expiry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuppressionConfig {
    pub finding: Option<String>,
    pub rule: Option<String>,
    pub resource: Option<String>,
    pub reason: String,
    pub author: String,
    pub expires: Option<String>,
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
        let mut config =
            Config::parse(&text).with_context(|| format!("invalid config {}", path.display()))?;
        config.origin = Some(path);
        Ok(config)
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        for (i, s) in config.suppressions.iter().enumerate() {
            anyhow::ensure!(
                s.finding.is_some() != s.rule.is_some(),
                "[[suppressions]] #{}: give either `finding` or `rule` (with an optional `resource` pattern)",
                i + 1
            );
            if let Some(e) = &s.expires {
                anyhow::ensure!(
                    nhiscope_engine::time::parse(e).is_some(),
                    "[[suppressions]] #{}: `expires` {e:?} is not a date or RFC 3339 time",
                    i + 1
                );
            }
        }
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
