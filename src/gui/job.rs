//! Background jobs of the window (an OCR reading, a gradient check, a screenshot): the work
//! runs elsewhere and the window polls for its result each frame. A job that panics, or
//! whose work is dropped without finishing, ends with an error instead of leaving its
//! spinner on forever.

use crate::train::worker::panic_message;
use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};
use eframe::egui;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The window's end of a job.
pub struct Job<T> {
    result: Receiver<Result<T, String>>,
    /// What the job does, for its error messages ("the gradient check").
    what: &'static str,
}

/// The worker's end of a job: finishing it hands the result over and wakes the window.
pub struct JobDone<T> {
    result: Sender<Result<T, String>>,
    what: &'static str,
    ctx: egui::Context,
}

impl<T: Send + 'static> Job<T> {
    /// A job whose work `done` is handed to whoever does it.
    pub fn new(ctx: &egui::Context, what: &'static str) -> (Self, JobDone<T>) {
        let (tx, rx) = bounded(1);
        let done = JobDone {
            result: tx,
            what,
            ctx: ctx.clone(),
        };
        (Self { result: rx, what }, done)
    }

    /// Runs `work` on a thread of its own.
    pub fn spawn(
        ctx: &egui::Context,
        what: &'static str,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        let (job, done) = Self::new(ctx, what);
        // If the thread cannot start, `done` is dropped with it and the job reports that.
        let _ = std::thread::Builder::new()
            .name(format!("nnlab {what}"))
            .spawn(move || done.finish(work));
        job
    }

    /// The job's outcome once it has ended, `None` while it runs.
    pub fn poll(&self) -> Option<Result<T, String>> {
        match self.result.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err(format!("{} ended without a result", self.what)))
            }
        }
    }
}

impl<T> JobDone<T> {
    /// Runs `work` and hands its result (or its panic, as an error) to the window.
    pub fn finish(self, work: impl FnOnce() -> Result<T, String>) {
        let outcome = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
            Err(format!(
                "{} failed: {}",
                self.what,
                panic_message(panic.as_ref())
            ))
        });
        let _ = self.result.send(outcome);
        self.ctx.request_repaint();
    }
}
