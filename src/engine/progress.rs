//! The progress bar on stderr: people done, people per second, time left.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A thread-safe progress counter that draws only when asked to and when
/// stderr is a terminal (indicatif hides itself otherwise).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(total: u64, visible: bool) -> Progress {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} people  {per_sec}  ETA {eta}",
            )
            .expect("static template is valid")
            .progress_chars("=> "),
        );
        Progress { bar }
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
