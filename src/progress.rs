//! Progress bars for scans (indicatif): one spinner per collector, finished with its outcome.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nhiscope_engine::store::{CollectorRecord, CollectorStatus};
use nhiscope_scanners::ScanObserver;

/// Draws one line per collector.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// Bars on stderr; hidden when `quiet` or stderr is not a terminal.
    pub fn new(quiet: bool) -> Bars {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl ScanObserver for Bars {
    fn collector_started(&self, source: &str, collector: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<22} {wide_msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(collector.to_string());
        bar.set_message(format!("{source}: collecting"));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(format!("{source}/{collector}"), bar);
        }
    }

    fn collector_finished(&self, source: &str, record: &CollectorRecord) {
        let bar = self
            .bars
            .lock()
            .ok()
            .and_then(|mut b| b.remove(&format!("{source}/{}", record.collector)));
        if let Some(bar) = bar {
            let msg = match record.status {
                CollectorStatus::Ok => format!(
                    "{source}: {} rows, {} calls",
                    record.items, record.api_calls
                ),
                CollectorStatus::Failed => format!(
                    "{source}: FAILED: {}",
                    record.error.as_deref().unwrap_or("unknown error")
                ),
            };
            bar.finish_with_message(msg);
        }
    }
}
