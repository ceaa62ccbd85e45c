//! The one health rule: a map's state and the reason for it, from its path
//! counts.
//!
//! ```text
//! active 1, total 2, expected 4, queueing no  ->  degraded, "1 of 2 paths failed, 2 of 4 expected paths present"
//! active 0, total 2, queueing yes             ->  failed,   "all 2 paths failed, I/O is queued until a path returns"
//! ```
//!
//! The node judges its maps with it ([`crate::maps`]) and the cluster
//! matrix judges each node's report with it ([`super::aggregate`]), so a
//! cell of `/cluster/multipath/status` and the node's own view of the map
//! say the same thing in the same words.

use super::State;

/// What the rule looks at: counts only, so the node (which has the paths)
/// and the cluster side (which has a node's report) feed it alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Paths carrying I/O now.
    pub active: u64,
    /// Paths the map has, working or not.
    pub total: u64,
    /// How many paths the map should have (config, else most ever seen).
    pub expected: Option<u64>,
    /// I/O waits for a path to come back instead of failing.
    pub queueing: bool,
}

/// The state and, unless optimal, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub state: State,
    pub reason: Option<String>,
}

/// Decide a map's state from its counts.
pub fn judge(counts: &Counts) -> Verdict {
    let Counts {
        active,
        total,
        expected,
        queueing,
    } = *counts;
    let active = active.min(total);
    let mut why = Vec::new();
    let state = if total == 0 {
        why.push("no paths".to_string());
        State::Failed
    } else if active == 0 {
        why.push(format!("all {total} paths failed"));
        State::Failed
    } else if active < total {
        why.push(format!("{} of {total} paths failed", total - active));
        State::Degraded
    } else {
        State::Optimal
    };
    if let Some(expected) = expected.filter(|&expected| total < expected) {
        why.push(format!("{total} of {expected} expected paths present"));
    }
    if state == State::Failed && queueing {
        why.push("I/O is queued until a path returns".into());
    }
    let state = match state {
        State::Optimal if !why.is_empty() => State::Degraded,
        state => state,
    };
    Verdict {
        state,
        reason: (!why.is_empty()).then(|| why.join(", ")),
    }
}

/// The verdict on a report whose sender may know more than its counts
/// show (a suspended map): the worse of the two. A state this version does
/// not know stays unknown.
pub fn judge_report(counts: &Counts, reported: State) -> Verdict {
    if reported == State::Unknown {
        return Verdict {
            state: State::Unknown,
            reason: Some("the node reports a state this version does not know".into()),
        };
    }
    let verdict = judge(counts);
    if reported.rank() > verdict.state.rank() {
        return Verdict {
            state: reported,
            reason: Some(format!("the node reports it {}", reported.as_str())),
        };
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(active: u64, total: u64, expected: Option<u64>, queueing: bool) -> Verdict {
        judge(&Counts {
            active,
            total,
            expected,
            queueing,
        })
    }

    #[test]
    fn states_and_reasons() {
        for (active, total, expected, queueing, state, reason) in [
            (2, 2, None, false, State::Optimal, None),
            (2, 2, Some(2), false, State::Optimal, None),
            (
                3,
                4,
                None,
                false,
                State::Degraded,
                Some("1 of 4 paths failed"),
            ),
            (
                2,
                2,
                Some(4),
                false,
                State::Degraded,
                Some("2 of 4 expected paths present"),
            ),
            (
                1,
                2,
                Some(4),
                false,
                State::Degraded,
                Some("1 of 2 paths failed, 2 of 4 expected paths present"),
            ),
            (0, 2, None, false, State::Failed, Some("all 2 paths failed")),
            (
                0,
                2,
                None,
                true,
                State::Failed,
                Some("all 2 paths failed, I/O is queued until a path returns"),
            ),
            (0, 0, None, false, State::Failed, Some("no paths")),
            (5, 2, None, false, State::Optimal, None),
        ] {
            assert_eq!(
                verdict(active, total, expected, queueing),
                Verdict {
                    state,
                    reason: reason.map(str::to_string)
                },
                "{active}/{total}/{expected:?} queueing {queueing}"
            );
        }
    }

    #[test]
    fn a_worse_reported_state_wins_and_says_so() {
        let counts = Counts {
            active: 2,
            total: 2,
            ..Counts::default()
        };
        let verdict = judge_report(&counts, State::Degraded);
        assert_eq!(verdict.state, State::Degraded);
        assert_eq!(
            verdict.reason.as_deref(),
            Some("the node reports it degraded")
        );
        assert_eq!(judge_report(&counts, State::Unknown).state, State::Unknown);
        let failed = Counts {
            total: 2,
            ..Counts::default()
        };
        assert_eq!(judge_report(&failed, State::Optimal), judge(&failed));
    }
}
