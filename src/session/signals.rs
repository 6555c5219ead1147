//! Signals, taken in one place for the whole session: Ctrl-C (SIGINT), SIGTERM and
//! SIGHUP.
//!
//! Once a signal handler is installed for SIGINT its default action is gone for the
//! life of the process, so somebody must always be listening. [`install`] starts one
//! thread that owns all three signals and hands each to whoever waits right now:
//!
//! - a running statement ([`interrupted`], awaited by the statement's cancel path),
//!   which then sends the protocol's cancel request;
//! - a question on the controlling terminal ([`TtyWait`]): Ctrl-C there answers
//!   nothing, which declines (a COMMIT stays unconfirmed, a row count is not kept);
//! - the interactive line editor ([`while_editing`]): it reads Ctrl-C as a key itself;
//!   on SIGTERM or SIGHUP the thread interrupts it (with SIGINT, which the editor turns
//!   into Ctrl-C) until it returns.
//!
//! SIGTERM and SIGHUP end the session like Ctrl-D: they are recorded ([`terminated`]),
//! whatever waits is woken, the input loops stop at their next step, the open
//! transaction is rolled back, the spill directory removed, and pgward exits with code
//! 9. The main thread does all of that itself, with the session it owns; this thread
//! only wakes it. A COMMIT that was sent is never abandoned halfway: it ends on the
//! server's answer, like any statement.
//!
//! Interrupts are also counted ([`interrupts`]), so a script can tell that Ctrl-C came
//! while nobody was waiting, and stop.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::Notify;

/// What waits for input on the main thread, so a signal knows how to wake it.
enum Parked {
    /// Nothing: the main thread runs (a statement, the probe, rendering).
    No,
    /// A question on the terminal, woken through this socket.
    Tty(UnixStream),
    /// The line editor.
    Editor,
}

struct Hub {
    /// SIGTERM or SIGHUP, once received; 0 before.
    terminate: AtomicI32,
    /// How many SIGINTs arrived.
    interrupts: AtomicU64,
    /// Wakes a running statement.
    notify: Notify,
    parked: Mutex<Parked>,
}

static HUB: OnceLock<Hub> = OnceLock::new();

fn hub() -> &'static Hub {
    HUB.get_or_init(|| Hub {
        terminate: AtomicI32::new(0),
        interrupts: AtomicU64::new(0),
        notify: Notify::new(),
        parked: Mutex::new(Parked::No),
    })
}

fn parked() -> std::sync::MutexGuard<'static, Parked> {
    hub().parked.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the signal thread. Returns once SIGINT, SIGTERM and SIGHUP are taken, so no
/// signal after this can take its default action. Idempotent.
pub fn install() -> io::Result<()> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        let (ready, is_ready) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("pgward-signals".into())
            .spawn(move || listen(ready));
        match spawned {
            Ok(_) => is_ready
                .recv()
                .unwrap_or_else(|_| Err("the signal thread ended".into())),
            Err(e) => Err(e.to_string()),
        }
    });
    started
        .clone()
        .map_err(|e| io::Error::other(format!("cannot handle signals: {e}")))
}

fn listen(ready: std::sync::mpsc::Sender<Result<(), String>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    rt.block_on(async move {
        let streams = (|| {
            Ok::<_, io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })();
        let (mut int, mut term, mut hup) = match streams {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let mut nudge = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                Some(()) = int.recv() => on_interrupt(),
                Some(()) = term.recv() => on_terminate(Signal::SIGTERM),
                Some(()) = hup.recv() => on_terminate(Signal::SIGHUP),
                _ = nudge.tick() => nudge_editor(),
            }
        }
    });
}

fn on_interrupt() {
    let hub = hub();
    hub.interrupts.fetch_add(1, Ordering::SeqCst);
    hub.notify.notify_waiters();
    wake_tty();
}

fn on_terminate(signal: Signal) {
    let hub = hub();
    let _ = hub
        .terminate
        .compare_exchange(0, signal as i32, Ordering::SeqCst, Ordering::SeqCst);
    hub.notify.notify_waiters();
    wake_tty();
    nudge_editor();
}

fn wake_tty() {
    if let Parked::Tty(wake) = &mut *parked() {
        let _ = wake.write_all(b"!");
    }
}

/// While a termination is pending and the line editor still reads, interrupt it: the
/// editor turns SIGINT into Ctrl-C only while it is inside its read, so this repeats
/// until the editor has returned.
fn nudge_editor() {
    if terminated().is_none() {
        return;
    }
    if matches!(*parked(), Parked::Editor) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), Signal::SIGINT);
    }
}

/// The terminating signal (SIGTERM or SIGHUP), once one arrived.
pub fn terminated() -> Option<Signal> {
    match hub().terminate.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// How many Ctrl-Cs (SIGINTs) arrived so far.
pub fn interrupts() -> u64 {
    hub().interrupts.load(Ordering::SeqCst)
}

/// Resolves at the next Ctrl-C, SIGTERM or SIGHUP (at once when a termination is
/// already pending). Only signals that arrive after the call count as Ctrl-C.
pub async fn interrupted() {
    let hub = hub();
    let notified = hub.notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    if terminated().is_some() {
        return;
    }
    notified.await;
}

/// Runs `read` (a line editor's read) where a SIGTERM or SIGHUP can interrupt it.
/// `None`, without reading, when a termination is already pending.
pub fn while_editing<T>(read: impl FnOnce() -> T) -> Option<T> {
    {
        let mut p = parked();
        if terminated().is_some() {
            return None;
        }
        *p = Parked::Editor;
    }
    let result = read();
    *parked() = Parked::No;
    Some(result)
}

/// A question being asked on the terminal: signals wake it through [`TtyWait::fd`].
pub struct TtyWait {
    wake: UnixStream,
}

impl TtyWait {
    /// Registers the question; `None` when a termination is already pending.
    pub fn start() -> io::Result<Option<TtyWait>> {
        let (wake, waker) = UnixStream::pair()?;
        let mut p = parked();
        if terminated().is_some() {
            return Ok(None);
        }
        *p = Parked::Tty(waker);
        Ok(Some(TtyWait { wake }))
    }

    /// Readable once a signal arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empties the wake socket.
    pub fn drain(&mut self) {
        let _ = self.wake.set_nonblocking(true);
        let mut buf = [0u8; 16];
        while matches!(self.wake.read(&mut buf), Ok(n) if n > 0) {}
    }
}

impl Drop for TtyWait {
    fn drop(&mut self) {
        *parked() = Parked::No;
    }
}

/// The signal's name, as `kill -l` spells it.
pub fn name(signal: Signal) -> &'static str {
    signal.as_str()
}
