//! `nhiscope scan aws`: resolve accounts, scan each into its own snapshot, print a summary,
//! exit non-zero when anything was partial or failed.

use std::process::ExitCode;

use anyhow::Result;
use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::store::{CollectorStatus, ScanStatus};
use nhiscope_engine::Store;
use nhiscope_scanners::aws::{self, AssumeRole};

use super::{now, EXIT_PARTIAL};
use crate::cli::{AwsArgs, ScanProvider};
use crate::config::Config;
use crate::progress::Bars;

pub fn run(
    provider: ScanProvider,
    config: &Config,
    store: Store,
    quiet: bool,
    rules: &dyn Fn() -> Result<RuleSet>,
    now: i64,
) -> Result<ExitCode> {
    let ScanProvider::Aws(args) = provider;
    // Rules load before the scan so a broken rule file fails fast.
    let rule_set = if args.no_rules { None } else { Some(rules()?) };
    let fail_on = args.fail_on;
    let runtime = super::runtime()?;
    let (code, mut store) = runtime.block_on(scan_aws(args, config, store, quiet))?;
    drop(runtime);
    let Some(rule_set) = rule_set else {
        store.refresh_identity_summary(now)?;
        return Ok(code);
    };
    let (eval, summary) = super::evaluate::evaluate_current(&mut store, &rule_set, config, now)?;
    super::evaluate::print_summary(&eval, &summary)?;
    super::evaluate::print_counts(&store, now)?;
    if let Some(failing) = super::evaluate::fail_on(&store, fail_on, now)? {
        return Ok(failing);
    }
    Ok(code)
}

fn options(args: &AwsArgs, config: &Config) -> aws::AwsOptions {
    let mut opts = config.aws.clone();
    opts.profiles.extend(args.profiles.iter().cloned());
    opts.assume_roles
        .extend(args.assume_roles.iter().map(|arn| AssumeRole {
            role_arn: arn.clone(),
            external_id: args.external_id.clone(),
            source_profile: None,
            session_name: "nhiscope".into(),
        }));
    if let Some(v) = &args.endpoint_url {
        opts.endpoint_url = Some(v.clone());
    }
    if let Some(v) = &args.region {
        opts.region = Some(v.clone());
    }
    if let Some(v) = args.concurrency {
        opts.concurrency = v;
    }
    if let Some(v) = args.max_attempts {
        opts.max_attempts = v;
    }
    if let Some(v) = args.initial_backoff_ms {
        opts.initial_backoff_ms = v;
    }
    opts
}

async fn scan_aws(
    args: AwsArgs,
    config: &Config,
    mut store: Store,
    quiet: bool,
) -> Result<(ExitCode, Store)> {
    let opts = options(&args, config);
    let (targets, errors) = aws::targets(&opts).await;
    let mut clean = errors.is_empty();
    for e in &errors {
        eprintln!("error: {e}");
    }
    let bars = Bars::new(quiet);
    let clock = now;
    for target in &targets {
        let (outcome, calls) = aws::scan_target(&mut store, target, &opts, &clock, &bars).await?;
        outln!(
            "scan {} of aws:{} ({}): {} — {} rows, {} API calls",
            outcome.scan_id,
            target.account,
            target.label,
            outcome.status.as_str(),
            outcome.rows,
            outcome.api_calls
        );
        for c in outcome
            .collectors
            .iter()
            .filter(|c| c.status == CollectorStatus::Failed)
        {
            outln!(
                "  collector {} failed: {}",
                c.collector,
                c.error.as_deref().unwrap_or("?")
            );
        }
        if args.show_calls {
            for (op, n) in &calls {
                outln!("  {op:<36} {n}");
            }
        }
        if outcome.status != ScanStatus::Complete {
            clean = false;
        }
    }
    if targets.is_empty() && errors.is_empty() {
        eprintln!("error: no AWS account to scan");
        clean = false;
    }
    let code = if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PARTIAL)
    };
    Ok((code, store))
}
