//! The progress bar on stderr: people done, people per second, time left.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where a run reports the people it has done.
#[derive(Clone)]
pub enum ProgressReport {
    /// Nowhere (`--quiet`, tests).
    Hidden,
    /// A bar of the run's own on stderr (on a cluster: the leader's).
    Bar,
    /// A bar that the caller owns and finishes: a dataset's, which counts
    /// all of its chunks, each of them one run.
    Shared(Progress),
}

impl ProgressReport {
    /// The bar for a run of `total` people; `leader` is whether this
    /// process draws (the others on a cluster stay quiet).
    pub fn start(&self, total: u64, leader: bool) -> Progress {
        match self {
            ProgressReport::Hidden => Progress::new(total, false),
            ProgressReport::Bar => Progress::new(total, leader),
            ProgressReport::Shared(bar) => bar.clone(),
        }
    }

    /// Ends a run's bar, unless the caller owns it.
    pub fn end(&self, progress: &Progress) {
        if !matches!(self, ProgressReport::Shared(_)) {
            progress.finish();
        }
    }
}

/// A thread-safe progress counter that draws only when asked to and when
/// stderr is a terminal (indicatif hides itself otherwise). Clones count
/// on the same bar.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(total: u64, visible: bool) -> Progress {
        Progress::counting(total, visible, "people")
    }

    /// A bar that counts `what` (`famsim eval` counts images).
    pub fn counting(total: u64, visible: bool, what: &str) -> Progress {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(
            ProgressStyle::with_template(
                &format!("{{spinner}} [{{elapsed_precise}}] {{bar:40.cyan/blue}} {{pos}}/{{len}} {what}  {{per_sec}}  ETA {{eta}}"),
            )
            .expect("static template is valid")
            .progress_chars("=> "),
        );
        Progress { bar }
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// People done so far (the web designer streams it to the page).
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
