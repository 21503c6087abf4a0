//! The training worker without a window: commands go down its channel, events come back,
//! and the handle drops the events of runs that are over. Every wait has a generous
//! deadline (the machine may be busy); none measures time.

use nnlab::data::toy::ToyKind;
use nnlab::train::RunConfig;
use nnlab::train::protocol::{Command, Ending, Event};
use nnlab::train::trainer::Weights;
use nnlab::train::worker::WorkerHandle;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

/// A few quick epochs on the four clusters.
fn toy(epochs: usize, lr: f64) -> RunConfig {
    RunConfig {
        epochs,
        lr,
        ..RunConfig::toy(ToyKind::FourClusters)
    }
}

/// The current run's events up to and including the first that `last` accepts.
fn events_until(worker: &WorkerHandle, last: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let event = worker
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|| panic!("no event for a minute; so far {}", names(&events)));
        let done = last(&event);
        events.push(event);
        if done {
            return events;
        }
    }
}

fn names(events: &[Event]) -> String {
    let names: Vec<String> = events
        .iter()
        .map(|e| format!("{e:?}").chars().take(40).collect())
        .collect();
    names.join(" | ")
}

/// Asks the worker to save; returns the events up to its answer (saved or an error), which
/// tells whether it has a network.
fn save_answer(worker: &mut WorkerHandle) -> Vec<Event> {
    let path = std::env::temp_dir().join("nnlab-worker-test-never-written.safetensors");
    worker.send(Command::Save(path, Weights::Last));
    events_until(worker, |e| matches!(e, Event::Saved(_) | Event::Error(_)))
}

/// Asserts that `events` is only the error of saving without a network.
fn assert_nothing_to_save(events: &[Event]) {
    let [Event::Error(message)] = events else {
        panic!(
            "expected only the error of saving nothing: {}",
            names(events)
        )
    };
    assert!(message.contains("no trained network"), "{message}");
}

#[test]
fn save_with_no_run_is_an_error_message() {
    let mut worker = WorkerHandle::spawn(|| {});
    assert_nothing_to_save(&save_answer(&mut worker));
}

#[test]
fn step_while_idle_does_nothing() {
    let mut worker = WorkerHandle::spawn(|| {});
    worker.send(Command::Step);
    worker.send(Command::Pause);
    worker.send(Command::Resume);
    worker.send(Command::Stop);
    // Commands are handled in order: had any of them trained, its events would come first.
    assert_nothing_to_save(&save_answer(&mut worker));
}

#[test]
fn reset_while_events_are_in_flight_drops_them() {
    let mut worker = WorkerHandle::spawn(|| {});
    worker.send(Command::Start(toy(10_000, 3e-3)));
    events_until(&worker, |e| matches!(e, Event::Progress(_)));
    // The worker keeps sending progress until it reads Reset; none of it may come through.
    worker.send(Command::Reset);
    assert_nothing_to_save(&save_answer(&mut worker));
}

#[test]
fn stale_events_of_an_earlier_run_are_dropped() {
    let mut worker = WorkerHandle::spawn(|| {});
    let (first, second) = (toy(10_000, 3e-3), toy(2, 1e-3));
    worker.send(Command::Start(first));
    events_until(&worker, |e| matches!(e, Event::Progress(_)));
    worker.send(Command::Start(second.clone()));
    let events = events_until(&worker, |e| matches!(e, Event::Finished(_)));
    let Some(Event::Started { config, .. }) = events.first() else {
        panic!(
            "the new run's events begin with its start: {}",
            names(&events)
        )
    };
    assert_eq!(config.lr, second.lr);
    let epochs: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p.epoch),
            _ => None,
        })
        .collect();
    assert!(
        epochs.iter().all(|&e| e <= second.epochs),
        "progress of the 10000-epoch run leaked through: {epochs:?}"
    );
    assert!(matches!(
        events.last(),
        Some(Event::Finished(Ending::Completed))
    ));
}

#[test]
fn a_sweep_goes_on_after_a_rate_diverges() {
    let mut worker = WorkerHandle::spawn(|| {});
    let rates = vec![3e-3, 1e4, 1e-3];
    worker.send(Command::Sweep(toy(2, 3e-3), rates.clone()));
    let mut members = Vec::new();
    for _ in &rates {
        let events = events_until(&worker, |e| matches!(e, Event::Finished(_)));
        let Some(Event::SweepMember { index, lr }) = events.first() else {
            panic!("each member begins with its rate: {}", names(&events))
        };
        let diverged = events.iter().any(|e| matches!(e, Event::Diverged { .. }));
        let Some(Event::Finished(ending)) = events.last() else {
            unreachable!("events_until stops at Finished")
        };
        members.push((*index, *lr, diverged, *ending));
    }
    assert_eq!(
        members,
        [
            (0, 3e-3, false, Ending::Completed),
            (1, 1e4, true, Ending::Stopped),
            (2, 1e-3, false, Ending::Completed),
        ]
    );
}
