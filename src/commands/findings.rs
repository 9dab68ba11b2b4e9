//! `nhiscope findings`: list stored findings (with suppressions shown, never hidden) as a
//! table, JSON, CSV, SARIF or OCSF; suppress, unsuppress and show one.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::store::{FindingFilter, NewSuppression, StoredFinding};
use nhiscope_engine::time;
use nhiscope_engine::Store;

use crate::cli::{FindingFormat, FindingsAction, FindingsArgs, Format};

fn author(given: &Option<String>) -> String {
    given
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// JSON of one finding, with its evidence as an object.
fn finding_json(f: &StoredFinding) -> serde_json::Value {
    let mut v = serde_json::to_value(f).unwrap_or_default();
    if let Some(e) = f
        .evidence
        .as_deref()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
    {
        v["evidence"] = e;
    }
    for key in ["first_seen", "last_seen", "resolved_at"] {
        if let Some(t) = v[key].as_i64() {
            v[key] = serde_json::Value::String(time::format(t));
        }
    }
    v
}

/// Writes findings in `format`.
pub fn print(list: &[StoredFinding], format: FindingFormat, rules: &RuleSet) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let mut out = std::io::stdout().lock();
    match format {
        FindingFormat::Table => {
            if list.is_empty() {
                writeln!(out, "(no findings)")?;
            }
            for f in list {
                let note = match (&f.suppression, f.status.as_str()) {
                    (Some(s), "suppressed") => format!(
                        "  [suppressed #{} by {}: {}{}]",
                        s.suppression_id,
                        s.author,
                        s.reason,
                        s.expires_at
                            .map(|e| format!(", until {}", time::format(e)))
                            .unwrap_or_default()
                    ),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{:<8} {:<10} {:<14} {:<18} {}{}",
                    f.severity.to_uppercase(),
                    f.status,
                    f.rule_id,
                    f.finding_id,
                    f.message,
                    note
                )?;
            }
        }
        FindingFormat::Json => {
            let all: Vec<serde_json::Value> = list.iter().map(finding_json).collect();
            serde_json::to_writer_pretty(&mut out, &all)?;
            writeln!(out)?;
        }
        FindingFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "finding_id",
                "status",
                "severity",
                "rule_id",
                "owasp",
                "provider",
                "tenant",
                "resource",
                "identity_id",
                "message",
                "first_seen",
                "last_seen",
                "suppression_reason",
                "evidence",
            ])?;
            for f in list {
                w.write_record([
                    f.finding_id.as_str(),
                    f.status.as_str(),
                    f.severity.as_str(),
                    f.rule_id.as_str(),
                    f.owasp.as_str(),
                    f.provider.as_str(),
                    f.tenant.as_str(),
                    f.resource.as_str(),
                    f.identity_id.as_deref().unwrap_or(""),
                    f.message.as_str(),
                    &time::format(f.first_seen),
                    &time::format(f.last_seen),
                    f.suppression
                        .as_ref()
                        .map(|s| s.reason.as_str())
                        .unwrap_or(""),
                    f.evidence.as_deref().unwrap_or(""),
                ])?;
            }
            w.flush()?;
        }
        FindingFormat::Sarif => {
            let log = nhiscope_reports::sarif::log(&rules.rules, list, version);
            serde_json::to_writer_pretty(&mut out, &log)?;
            writeln!(out)?;
        }
        FindingFormat::Ocsf => {
            for f in list {
                serde_json::to_writer(
                    &mut out,
                    &nhiscope_reports::ocsf::event(&rules.rules, f, version),
                )?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

pub fn run(
    args: &FindingsArgs,
    rules: &RuleSet,
    store_path: &std::path::Path,
    now: i64,
) -> Result<ExitCode> {
    match &args.action {
        Some(FindingsAction::Suppress {
            finding,
            rule,
            resource,
            reason,
            author: who,
            expires,
        }) => {
            let expires_at = match expires {
                Some(t) => Some(
                    time::parse(t)
                        .with_context(|| format!("--expires {t:?}: expected RFC 3339 or a date"))?,
                ),
                None => None,
            };
            if let Some(at) = expires_at {
                if at <= now {
                    bail!("--expires {} is in the past", time::format(at));
                }
            }
            let mut store = Store::open(store_path)?;
            let id = store.suppress(
                &NewSuppression {
                    finding_id: finding.clone(),
                    rule_id: rule.clone(),
                    resource: resource.clone(),
                    reason: reason.clone(),
                    author: author(who),
                    expires_at,
                },
                "cli",
                now,
            )?;
            store.refresh_identity_summary(now)?;
            outln!("suppression {id} recorded");
            return Ok(ExitCode::SUCCESS);
        }
        Some(FindingsAction::Unsuppress {
            suppression_id,
            author: who,
        }) => {
            let mut store = Store::open(store_path)?;
            store.revoke_suppression(*suppression_id, &author(who), now)?;
            store.refresh_identity_summary(now)?;
            outln!("suppression {suppression_id} revoked");
            return Ok(ExitCode::SUCCESS);
        }
        Some(FindingsAction::Show { finding, format }) => {
            let store = Store::open_read_only(store_path)?;
            let all = store.findings(
                &FindingFilter {
                    statuses: vec!["open".into(), "suppressed".into(), "resolved".into()],
                    ..Default::default()
                },
                now,
            )?;
            let Some(f) = all.iter().find(|f| &f.finding_id == finding) else {
                bail!("no finding {finding}");
            };
            let events = store.finding_events(finding)?;
            let rule = rules.get(&f.rule_id);
            if *format == Format::Json {
                let mut v = finding_json(f);
                v["events"] = serde_json::to_value(&events)?;
                v["remediation"] = serde_json::json!(rule.map(|r| r.remediation.trim()));
                v["references"] = serde_json::json!(rule.map(|r| &r.references));
                crate::output::json(&v)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "{} [{}] {} — {}",
                f.finding_id,
                f.status,
                f.rule_id,
                f.title
            );
            outln!("severity:  {}   OWASP: {}", f.severity, f.owasp);
            outln!("resource:  {} ({} {})", f.resource, f.provider, f.tenant);
            outln!("message:   {}", f.message);
            outln!(
                "seen:      {} .. {}",
                time::format(f.first_seen),
                time::format(f.last_seen)
            );
            if let Some(s) = &f.suppression {
                outln!(
                    "suppressed #{} by {}: {}",
                    s.suppression_id,
                    s.author,
                    s.reason
                );
            }
            outln!("evidence:  {}", f.evidence.as_deref().unwrap_or("{}"));
            if let Some(r) = rule {
                outln!("remediation:\n{}", r.remediation.trim());
            }
            outln!("events:");
            for e in &events {
                outln!(
                    "  {} {:<12} {} {}",
                    time::format(e.at),
                    e.event,
                    e.actor,
                    e.detail.as_deref().unwrap_or("")
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let store = Store::open_read_only(store_path)?;
    let statuses = if args.status.iter().any(|s| s == "all") {
        vec!["open".into(), "suppressed".into(), "resolved".into()]
    } else {
        for s in &args.status {
            if !["open", "suppressed", "resolved"].contains(&s.as_str()) {
                bail!("--status {s:?}: expected open, suppressed, resolved or all");
            }
        }
        args.status.clone()
    };
    let list = store.findings(
        &FindingFilter {
            statuses,
            min_severity: args.severity.map(|s| s.severity()),
            rule_id: args.rule.clone(),
            owasp: args.owasp.clone(),
            provider: args.provider.clone(),
            tenant: args.tenant.clone(),
            search: args.search.clone(),
            limit: args.limit,
        },
        now,
    )?;
    print(&list, args.format, rules)?;
    if let Some(code) = super::evaluate::fail_on(&store, args.fail_on, now)? {
        return Ok(code);
    }
    Ok(ExitCode::SUCCESS)
}
