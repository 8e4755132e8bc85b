//! A spinner for long commands: drawn on a terminal, silent when stderr is piped.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::CliError;

/// How often the spinner redraws (and asks for a fresh message).
const TICK: Duration = Duration::from_millis(100);

/// Runs `job` on its own thread while a spinner labelled `label` turns on stderr,
/// showing the elapsed time and what `status` says now (called every tick).
///
/// # Errors
/// [`CliError::Usage`] if the job's thread panicked (the panic was printed).
pub(crate) fn with_spinner<T: Send>(
    label: &str,
    status: impl Fn() -> String,
    job: impl FnOnce() -> T + Send,
) -> Result<T, CliError> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        let template = format!("{{spinner}} {label} {{elapsed}} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let result = std::thread::scope(|s| {
        let job = s.spawn(job);
        while !job.is_finished() {
            bar.set_message(status());
            bar.tick();
            std::thread::sleep(TICK);
        }
        job.join()
    });
    bar.finish_and_clear();
    result.map_err(|_| CliError::Usage(format!("the {label} thread panicked")))
}
