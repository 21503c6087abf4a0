//! Fork-join over the cores for the engine's parallel passes.
//!
//! A training step of a small network is a few dozen passes of tens of microseconds each. A
//! general work-stealing pool puts its idle threads to sleep within microseconds, and waking a
//! sleeping core (on a virtual machine, a halted one) costs about as much as the pass itself.
//! Here the helper threads keep watching for the next pass for a while before they sleep,
//! as OpenMP runtimes do, and whoever is free claims the next part, so a caller never waits
//! for a helper that has not started.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// How long an idle helper watches for the next pass before it sleeps: longer than the gaps
/// between the passes of one training step, short enough not to burn a core between steps.
const WATCH: Duration = Duration::from_micros(300);

/// The number of pieces to cut a parallel pass into: one per core (`NNLAB_THREADS` overrides).
pub fn cores() -> usize {
    pool().helpers + 1
}

/// How many of `len` planes of `plane` values each core takes (all of them when the pass is
/// too small to share).
pub fn planes_per_core(len: usize, plane: usize) -> usize {
    per_core(len * plane).div_ceil(plane.max(1)).max(1)
}

/// Values below which splitting elementwise work between the cores costs more than it saves.
const PARALLEL_VALUES: usize = 1 << 14;

/// How many of `len` values each core takes in an elementwise pass (all of them when the
/// pass is too small to share).
pub fn per_core(len: usize) -> usize {
    if len < PARALLEL_VALUES {
        return len.max(1);
    }
    len.div_ceil(cores()).max(1)
}

/// Runs `f` on every part, sharing the parts among the cores; returns when all are done.
/// The caller works too. Nested calls, and calls while another thread's pass is running, run
/// their parts on the calling thread. A panic in `f` is raised again here.
pub fn for_each<T: Send>(parts: impl IntoIterator<Item = T>, f: impl Fn(T) + Sync) {
    let parts: Vec<Mutex<Option<T>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let pool = pool();
    // The cheap conditions first: a pass that runs serially anyway must not hold the caller
    // lock, or another thread's large pass started meanwhile would run serially too.
    let claimed = if parts.len() > 1 && pool.helpers > 0 {
        claim(&pool.caller)
    } else {
        None
    };
    let Some(claimed) = claimed else {
        parts.into_iter().filter_map(into_part).for_each(f);
        return;
    };
    let next = AtomicUsize::new(0);
    let panic = Mutex::new(None);
    let run = || {
        while let Some(part) = parts.get(next.fetch_add(1, Ordering::Relaxed)) {
            let Some(item) = lock(part).take() else {
                continue;
            };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(item))) {
                *lock(&panic) = Some(payload);
            }
        }
    };
    let job: &(dyn Fn() + Sync) = &run;
    // SAFETY: only the lifetime is erased. Helpers reach the job only through the slot,
    // registered as users under its lock. `published` is declared after `run`, so it is
    // dropped first on every way out of this frame, a return or an unwind alike, and its
    // `Drop` empties the slot and waits until no user is left: no helper can call the job
    // after `run` is gone.
    let job = unsafe { std::mem::transmute::<&(dyn Fn() + Sync), JobRef>(job) };
    let published = pool.publish(job);
    run();
    drop(published);
    drop(claimed);
    if let Some(payload) = panic.into_inner().unwrap_or_else(PoisonError::into_inner) {
        resume_unwind(payload);
    }
}

/// The caller lock if no other thread's pass holds it now.
fn claim(caller: &Mutex<()>) -> Option<MutexGuard<'_, ()>> {
    match caller.try_lock() {
        Ok(guard) => Some(guard),
        // Nothing is guarded by it: a panic elsewhere does not matter here.
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// A job in the slot. Dropping it withdraws the job and waits for the helpers inside it.
struct Published<'p> {
    pool: &'p Pool,
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        self.pool.withdraw();
    }
}

fn into_part<T>(part: Mutex<Option<T>>) -> Option<T> {
    part.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// Locks a mutex whose data stays valid even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The caller's closure, which claims and runs parts until none are left.
type JobRef = &'static (dyn Fn() + Sync);

struct Slot {
    job: Option<JobRef>,
    /// Bumped with every published job.
    generation: u64,
    /// Helpers waiting on the condition variable.
    sleeping: usize,
}

struct Pool {
    slot: Mutex<Slot>,
    wake: Condvar,
    /// A copy of `Slot::generation` that watching helpers read without the lock.
    generation: AtomicU64,
    /// Helpers inside the current job.
    users: AtomicUsize,
    /// Held by the thread whose pass the helpers are working on.
    caller: Mutex<()>,
    helpers: usize,
}

/// The most threads `NNLAB_THREADS` may ask for.
pub const MAX_THREADS: usize = 256;

/// The thread count `NNLAB_THREADS` asks for (None when unset), or why it is unusable.
pub fn threads_setting() -> Result<Option<usize>, String> {
    let Some(value) = std::env::var_os("NNLAB_THREADS") else {
        return Ok(None);
    };
    let text = value.to_string_lossy();
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "NNLAB_THREADS is '{text}'; it must be a whole number from 1 to {MAX_THREADS}"
        )),
    }
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The command line refuses a bad setting up front; anything else falls back to the cores.
        let threads = threads_setting()
            .ok()
            .flatten()
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1)
            .max(1);
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            slot: Mutex::new(Slot {
                job: None,
                generation: 0,
                sleeping: 0,
            }),
            wake: Condvar::new(),
            generation: AtomicU64::new(0),
            users: AtomicUsize::new(0),
            caller: Mutex::new(()),
            helpers: threads - 1,
        }));
        for i in 0..pool.helpers {
            std::thread::Builder::new()
                .name(format!("nnlab-core-{}", i + 1))
                .spawn(|| pool.help())
                .expect("spawning a helper thread");
        }
        pool
    })
}

impl Pool {
    /// Puts `job` in the slot for the helpers until the returned guard is dropped.
    fn publish(&self, job: JobRef) -> Published<'_> {
        let mut slot = lock(&self.slot);
        slot.job = Some(job);
        slot.generation += 1;
        self.generation.store(slot.generation, Ordering::Release);
        if slot.sleeping > 0 {
            self.wake.notify_all();
        }
        Published { pool: self }
    }

    /// Empties the slot and waits until no helper is inside the job any more.
    fn withdraw(&self) {
        lock(&self.slot).job = None;
        let mut spins = 0u32;
        while self.users.load(Ordering::Acquire) > 0 {
            spins += 1;
            if spins < 1 << 12 {
                std::hint::spin_loop();
            } else {
                // A helper was descheduled in the middle of a part.
                std::thread::yield_now();
            }
        }
    }

    /// A helper's life: watch for a job, run it, repeat.
    fn help(&self) {
        let mut seen = 0;
        loop {
            self.watch(seen);
            let mut slot = lock(&self.slot);
            while slot.generation == seen {
                slot.sleeping += 1;
                slot = self.wake.wait(slot).unwrap_or_else(PoisonError::into_inner);
                slot.sleeping -= 1;
            }
            seen = slot.generation;
            let Some(job) = slot.job else { continue };
            self.users.fetch_add(1, Ordering::AcqRel);
            drop(slot);
            job();
            self.users.fetch_sub(1, Ordering::Release);
        }
    }

    /// Spins until a job newer than `seen` is published or `WATCH` has passed.
    fn watch(&self, seen: u64) {
        let start = Instant::now();
        while self.generation.load(Ordering::Acquire) == seen {
            for _ in 0..64 {
                std::hint::spin_loop();
            }
            if start.elapsed() > WATCH {
                return;
            }
        }
    }
}
