//! `nhiscope rules list|check|test`, and loading the rule set every command evaluates: the
//! built-in pack, then `[rules] dirs` and `--rules` directories (same id replaces), parameter
//! overrides from `nhiscope.toml`, minus `[rules] disabled`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use nhiscope_engine::analysis::Analysis;
use nhiscope_engine::rules::{self, params::apply_overrides, Fixture, RuleSet};
use nhiscope_engine::store::Snapshot;
use nhiscope_engine::Store;

use crate::cli::{Format, RulesAction};
use crate::config::Config;

/// Loads the configured rule set; every bad file is reported before failing.
pub fn load(config: &Config, extra_dirs: &[PathBuf]) -> Result<RuleSet> {
    let mut set = RuleSet::default();
    if config.rules.builtin {
        set.extend(rules::builtin()?)?;
    }
    let mut errors = Vec::new();
    for dir in config.rules.dirs.iter().chain(extra_dirs) {
        let (loaded, errs) = rules::load_dir(dir);
        errors.extend(errs);
        if let Err(e) = set.extend(loaded) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        bail!("{} rule file(s) could not be loaded", errors.len());
    }
    let origin = config
        .origin
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "nhiscope.toml".into());
    apply_overrides(&mut set.rules, &config.rules.params, &origin)?;
    for id in &config.rules.disabled {
        if set.get(id).is_none() {
            bail!("{origin}: [rules] disabled names {id}, which no loaded rule has");
        }
    }
    set.rules.retain(|r| !config.rules.disabled.contains(&r.id));
    Ok(set)
}

pub fn run(
    action: RulesAction,
    config: &Config,
    extra_dirs: &[PathBuf],
    now: i64,
) -> Result<ExitCode> {
    let set = load(config, extra_dirs)?;
    let runtime = super::runtime()?;
    match action {
        RulesAction::List { format } => list(&set, format),
        RulesAction::Check => runtime.block_on(check(&set, now)),
        RulesAction::Test => runtime.block_on(test(&set, config, extra_dirs)),
    }
}

fn list(set: &RuleSet, format: Format) -> Result<ExitCode> {
    if format == Format::Json {
        crate::output::json(&set.rules)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(if format == Format::Csv { b',' } else { b'\t' })
        .from_writer(Vec::new());
    w.write_record([
        "id",
        "owasp",
        "severity",
        "providers",
        "title",
        "params",
        "origin",
    ])?;
    for r in &set.rules {
        let params: Vec<String> = r
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", v.display()))
            .collect();
        w.write_record([
            r.id.as_str(),
            r.owasp.as_str(),
            r.severity.as_str(),
            &r.providers.join(","),
            r.title.as_str(),
            &params.join(" "),
            r.origin.as_str(),
        ])?;
    }
    let text = String::from_utf8(w.into_inner()?)?;
    if format == Format::Csv {
        outln!("{}", text.trim_end());
    } else {
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            outln!(
                "{:<14} {:<6} {:<9} {:<60} {}",
                cols[0],
                cols[1],
                cols[2],
                cols[4],
                cols[5]
            );
        }
        outln!("{} rules", set.rules.len());
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(set: &RuleSet, now: i64) -> Result<ExitCode> {
    let store = Store::open_in_memory()?;
    let analysis = Analysis::new(&store, Snapshot::Current, now, false).await?;
    let mut bad = 0;
    for rule in &set.rules {
        match analysis.plan(rule).await {
            Ok((_, tables)) => outln!("ok     {:<14} reads {}", rule.id, tables.join(", ")),
            Err(e) => {
                bad += 1;
                outln!("error  {e}");
            }
        }
    }
    outln!("{} rules planned, {bad} with errors", set.rules.len());
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Fixtures: `tests/<id>.toml` in each rule directory, and the built-in ones.
fn fixtures(config: &Config, extra_dirs: &[PathBuf]) -> Result<Vec<Fixture>> {
    let mut out = Vec::new();
    if config.rules.builtin {
        for (path, text) in rules::load::builtin_fixtures() {
            out.push(Fixture::parse(text, &format!("builtin:rules/{path}"))?);
        }
    }
    for dir in config.rules.dirs.iter().chain(extra_dirs) {
        let tests = dir.join("tests");
        let Ok(entries) = std::fs::read_dir(&tests) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p)?;
            let fixture = Fixture::parse(&text, &p.display().to_string())?;
            // A user fixture for a rule replaces the built-in one.
            out.retain(|f| f.rule != fixture.rule);
            out.push(fixture);
        }
    }
    Ok(out)
}

async fn test(set: &RuleSet, config: &Config, extra_dirs: &[PathBuf]) -> Result<ExitCode> {
    let fixtures = fixtures(config, extra_dirs)?;
    let (mut passed, mut failed) = (0, 0);
    for rule in &set.rules {
        let Some(f) = fixtures.iter().find(|f| f.rule == rule.id) else {
            failed += 1;
            outln!("FAIL   {:<14} no fixture (tests/{}.toml)", rule.id, rule.id);
            continue;
        };
        let outcome = f.run(rule).await?;
        if outcome.problems.is_empty() {
            passed += 1;
            outln!("ok     {:<14} flagged {}", rule.id, outcome.flagged.len());
        } else {
            failed += 1;
            for p in &outcome.problems {
                outln!("FAIL   {:<14} {p} ({})", rule.id, f.origin);
            }
        }
    }
    outln!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
