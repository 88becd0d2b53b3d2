//! Ending a recorded command when the user asks profdiff to stop, as `perf record` does: the
//! first SIGINT / SIGTERM / SIGHUP is passed on to the command (a program that handles it
//! shuts down cleanly and the profile shows that); if the command ignores it (it handles the
//! signal itself, or was started in the background with SIGINT ignored), SIGTERM follows after
//! a grace period, then SIGKILL. A second signal from the user kills the command at once. The
//! recording always continues until the command is gone, so the profile is written.

use std::time::{Duration, Instant};

/// Wait after passing on the user's signal before sending SIGTERM.
pub const TERM_AFTER: Duration = Duration::from_secs(1);
/// Wait after SIGTERM before SIGKILL.
pub const KILL_AFTER: Duration = Duration::from_secs(2);

/// What to send next, and when.
#[derive(Debug, Default)]
pub struct Escalation {
    /// Signals received from the user so far.
    received: u32,
    /// The next step: the signal and the moment it is due.
    next: Option<(libc::c_int, Instant)>,
}

impl Escalation {
    /// The user sent `sig` at `now`: the signals to send to the command right away.
    pub fn on_user_signal(&mut self, sig: libc::c_int, now: Instant) -> Option<libc::c_int> {
        self.received += 1;
        if self.received > 1 {
            self.next = None;
            return Some(libc::SIGKILL);
        }
        self.next = Some(if sig == libc::SIGTERM {
            (libc::SIGKILL, now + KILL_AFTER)
        } else {
            (libc::SIGTERM, now + TERM_AFTER)
        });
        Some(sig)
    }

    /// The signal due at `now`, if any (each step fires once).
    pub fn due(&mut self, now: Instant) -> Option<libc::c_int> {
        let (sig, at) = self.next?;
        if now < at {
            return None;
        }
        self.next = (sig == libc::SIGTERM).then(|| (libc::SIGKILL, now + KILL_AFTER));
        Some(sig)
    }

    /// Whether the user asked to stop.
    pub fn stopping(&self) -> bool {
        self.received > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigint_then_term_then_kill() {
        let t0 = Instant::now();
        let mut e = Escalation::default();
        assert_eq!(e.on_user_signal(libc::SIGINT, t0), Some(libc::SIGINT));
        assert_eq!(e.due(t0), None);
        assert_eq!(e.due(t0 + TERM_AFTER), Some(libc::SIGTERM));
        assert_eq!(e.due(t0 + TERM_AFTER), None);
        let t1 = t0 + TERM_AFTER + KILL_AFTER;
        assert_eq!(e.due(t1), Some(libc::SIGKILL));
        assert_eq!(e.due(t1 + KILL_AFTER * 10), None);
    }

    #[test]
    fn sigterm_skips_to_kill_and_a_second_signal_kills_at_once() {
        let t0 = Instant::now();
        let mut e = Escalation::default();
        assert_eq!(e.on_user_signal(libc::SIGTERM, t0), Some(libc::SIGTERM));
        assert_eq!(e.due(t0 + KILL_AFTER), Some(libc::SIGKILL));
        let mut e = Escalation::default();
        e.on_user_signal(libc::SIGINT, t0);
        assert_eq!(e.on_user_signal(libc::SIGINT, t0), Some(libc::SIGKILL));
        assert_eq!(e.due(t0 + KILL_AFTER * 10), None);
        assert!(e.stopping());
    }
}
