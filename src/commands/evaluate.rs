//! Evaluating the rules: over the current state with the finding lifecycle recorded (after a
//! scan, after `demo`, or `nhiscope evaluate`), or over a past state (`--as-of`, printed only).

use std::process::ExitCode;

use anyhow::{Context, Result};
use nhiscope_engine::analysis::{Analysis, Evaluation};
use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::store::{EvaluationSummary, NewSuppression, Snapshot, StoredFinding};
use nhiscope_engine::Store;

use super::findings;
use crate::cli::{EvaluateArgs, SeverityArg};
use crate::config::Config;

/// The suppressions of the config file, as the store records them.
fn config_suppressions(config: &Config) -> Vec<NewSuppression> {
    config
        .suppressions
        .iter()
        .map(|s| NewSuppression {
            finding_id: s.finding.clone(),
            rule_id: s.rule.clone(),
            resource: s.resource.clone(),
            reason: s.reason.clone(),
            author: s.author.clone(),
            expires_at: s.expires.as_deref().and_then(nhiscope_engine::time::parse),
        })
        .collect()
}

/// Evaluates `rules` over the current state of `store` at `now` and records the lifecycle.
pub fn evaluate_current(
    store: &mut Store,
    rules: &RuleSet,
    config: &Config,
    now: i64,
) -> Result<(Evaluation, EvaluationSummary)> {
    let origin = format!(
        "config:{}",
        config
            .origin
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "nhiscope.toml".into())
    );
    store.sync_config_suppressions(&origin, &config_suppressions(config), now)?;
    let runtime = super::runtime()?;
    let evaluation = runtime.block_on(async {
        let analysis = Analysis::new(store, Snapshot::Current, now, true).await?;
        anyhow::Ok(analysis.evaluate(store, &rules.rules).await?)
    })?;
    for run in evaluation.failed() {
        eprintln!("error: {}", run.error.as_deref().unwrap_or("?"));
    }
    let summary = store
        .record_evaluation(&evaluation)
        .context("recording the evaluation")?;
    store.refresh_identity_summary(now)?;
    Ok((evaluation, summary))
}

/// One line about an evaluation.
/// Open findings by severity and by OWASP NHI category, one line each.
pub fn print_counts(store: &Store, now: i64) -> Result<()> {
    let counts = store.finding_counts(now)?;
    let mut by_severity: Vec<(String, i64)> = Vec::new();
    let mut by_owasp: std::collections::BTreeMap<String, i64> = Default::default();
    let mut suppressed = 0;
    for (status, severity, owasp, n) in counts {
        match status.as_str() {
            "open" => {
                match by_severity.iter_mut().find(|(s, _)| *s == severity) {
                    Some((_, c)) => *c += n,
                    None => by_severity.push((severity, n)),
                }
                *by_owasp.entry(owasp).or_default() += n;
            }
            "suppressed" => suppressed += n,
            _ => {}
        }
    }
    let sev: Vec<String> = by_severity
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let mut owasp: Vec<(String, i64)> = by_owasp.into_iter().collect();
    owasp.sort_by_key(|(k, _)| k.trim_start_matches("NHI").parse::<u32>().unwrap_or(99));
    let owasp: Vec<String> = owasp.iter().map(|(k, n)| format!("{k} {n}")).collect();
    outln!(
        "open findings by severity: {}; by OWASP NHI: {}; suppressed: {suppressed}",
        if sev.is_empty() {
            "none".to_string()
        } else {
            sev.join(", ")
        },
        if owasp.is_empty() {
            "none".to_string()
        } else {
            owasp.join(", ")
        },
    );
    Ok(())
}

pub fn print_summary(eval: &Evaluation, s: &EvaluationSummary) -> Result<()> {
    outln!(
        "rules: {} evaluated ({} failed), {} findings: {} new, {} reopened, {} resolved{}",
        eval.runs.len(),
        eval.failed().count(),
        s.findings,
        s.opened,
        s.reopened,
        s.resolved,
        if s.awaiting_complete_scan > 0 {
            format!(
                ", {} no longer reported but kept open until a complete scan",
                s.awaiting_complete_scan
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

/// The exit code for `--fail-on`: 3 when an open finding reaches the threshold.
pub fn fail_on(
    store: &Store,
    threshold: Option<SeverityArg>,
    now: i64,
) -> Result<Option<ExitCode>> {
    let Some(t) = threshold else {
        return Ok(None);
    };
    let failing = store.findings(
        &nhiscope_engine::store::FindingFilter {
            statuses: vec!["open".into()],
            min_severity: Some(t.severity()),
            ..Default::default()
        },
        now,
    )?;
    if failing.is_empty() {
        return Ok(None);
    }
    eprintln!(
        "{} open finding(s) at or above {} (--fail-on)",
        failing.len(),
        t.severity().as_str()
    );
    Ok(Some(ExitCode::from(super::EXIT_FINDINGS)))
}

pub fn run(
    args: &EvaluateArgs,
    config: &Config,
    rules: &RuleSet,
    store_path: &std::path::Path,
    now: i64,
) -> Result<ExitCode> {
    if let Some(text) = &args.as_of {
        let at = nhiscope_engine::time::parse(text)
            .with_context(|| format!("--as-of {text:?}: expected RFC 3339 or a date"))?;
        let store = Store::open_read_only(store_path)?;
        if let Some(limit) = &args.memory_limit {
            store
                .set_memory_limit(limit)
                .with_context(|| format!("--memory-limit {limit}"))?;
        }
        let runtime = super::runtime()?;
        let eval = runtime.block_on(async {
            let analysis = Analysis::new(&store, Snapshot::AsOf(at), at, true).await?;
            anyhow::Ok(analysis.evaluate(&store, &rules.rules).await?)
        })?;
        for run in eval.failed() {
            eprintln!("error: {}", run.error.as_deref().unwrap_or("?"));
        }
        let listed: Vec<StoredFinding> = store
            .staged_findings(None)?
            .into_iter()
            .map(|f| StoredFinding {
                finding_id: f.finding_id,
                rule_id: f.rule_id,
                owasp: f.owasp,
                severity: f.severity.as_str().into(),
                title: f.title,
                provider: f.provider,
                tenant: f.tenant,
                resource: f.resource,
                identity_id: f.identity_id,
                message: f.message,
                evidence: Some(f.evidence),
                status: "open".into(),
                first_seen: at,
                last_seen: at,
                resolved_at: None,
                suppression: None,
            })
            .collect();
        findings::print(&listed, args.format, rules)?;
        let failing = match args.fail_on {
            Some(t) => store.staged_at_least(t.severity())?,
            None => false,
        };
        return Ok(if failing {
            ExitCode::from(super::EXIT_FINDINGS)
        } else {
            ExitCode::SUCCESS
        });
    }
    let mut store = super::open_store(store_path, args.memory_limit.as_deref())?;
    let (eval, summary) = evaluate_current(&mut store, rules, config, now)?;
    if args.format == crate::cli::FindingFormat::Table {
        print_summary(&eval, &summary)?;
        print_counts(&store, now)?;
        outln!("list them with `nhiscope findings` (filters, --format json|csv|sarif|ocsf)");
    } else {
        let listed = store.findings(&Default::default(), now)?;
        findings::print(&listed, args.format, rules)?;
    }
    if let Some(code) = fail_on(&store, args.fail_on, now)? {
        return Ok(code);
    }
    Ok(if eval.failed().count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
