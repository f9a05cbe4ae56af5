//! The stage bar: Booked → In transit → Out for delivery → Delivered, with the states off that
//! road (delayed, a failed attempt, a return, a loss) drawn as steps of their own.

use tracking_core::model::Status;

/// How a status reads: as expected, worth a look, or gone wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Normal,
    Good,
    Warn,
    Bad,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Normal => "tone-normal",
            Tone::Good => "tone-good",
            Tone::Warn => "tone-warn",
            Tone::Bad => "tone-bad",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Done,
    Current,
    Todo,
}

impl Step {
    pub fn class(self) -> &'static str {
        match self {
            Step::Done => "done",
            Step::Current => "current",
            Step::Todo => "todo",
        }
    }
}

/// The catalogue key of a status's name: `status.` and its JSON name.
pub fn status_key(status: Status) -> String {
    format!("status.{}", status.as_str())
}

pub fn tone(status: Status) -> Tone {
    match status {
        Status::Delivered => Tone::Good,
        Status::FailedAttempt | Status::Exception | Status::Returning | Status::Returned => {
            Tone::Warn
        }
        Status::Lost => Tone::Bad,
        _ => Tone::Normal,
    }
}

/// Whether the shipment is still on its way to the customer, so that an expected delivery date
/// means something (not once delivered, returning, returned or lost).
pub fn on_its_way(status: Status) -> bool {
    !matches!(
        status,
        Status::Delivered | Status::Returning | Status::Returned | Status::Lost
    )
}

/// The steps of the bar for `status`, each with the status it names and where the shipment is.
pub fn stages(status: Status) -> Vec<(Status, Step)> {
    use Status::*;
    let (road, at): (&[Status], usize) = match status {
        Pending | InfoReceived => (&[InfoReceived, InTransit, OutForDelivery, Delivered], 0),
        InTransit => (&[InfoReceived, InTransit, OutForDelivery, Delivered], 1),
        Exception => (&[InfoReceived, Exception, OutForDelivery, Delivered], 1),
        OutForDelivery => (&[InfoReceived, InTransit, OutForDelivery, Delivered], 2),
        FailedAttempt => (&[InfoReceived, InTransit, FailedAttempt, Delivered], 2),
        Delivered => (&[InfoReceived, InTransit, OutForDelivery, Delivered], 3),
        Returning => (&[InfoReceived, InTransit, Returning, Returned], 2),
        Returned => (&[InfoReceived, InTransit, Returning, Returned], 3),
        Lost => (&[InfoReceived, InTransit, Lost], 2),
    };
    road.iter()
        .enumerate()
        .map(|(i, s)| {
            let step = match i.cmp(&at) {
                std::cmp::Ordering::Less => Step::Done,
                std::cmp::Ordering::Equal => Step::Current,
                std::cmp::Ordering::Greater => Step::Todo,
            };
            (*s, step)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each tone is a class of its own that the page's stylesheet colours.
    #[test]
    fn every_tone_is_styled() {
        let tones = [Tone::Normal, Tone::Good, Tone::Warn, Tone::Bad];
        for (i, tone) in tones.iter().enumerate() {
            assert!(tone.class().starts_with("tone-"), "{tone:?}");
            assert!(
                tones[i + 1..].iter().all(|t| t.class() != tone.class()),
                "{tone:?}"
            );
            if *tone != Tone::Normal {
                assert!(
                    crate::page::PAGE_CSS.contains(&format!(".{}", tone.class())),
                    "{tone:?}"
                );
            }
        }
    }

    fn current(status: Status) -> Status {
        let steps = stages(status);
        let current: Vec<_> = steps.iter().filter(|(_, s)| *s == Step::Current).collect();
        assert_eq!(current.len(), 1, "{status:?}");
        current[0].0
    }

    #[test]
    fn every_status_is_the_current_step_of_its_own_bar_but_pending() {
        for status in Status::ALL.into_iter().skip(1) {
            assert_eq!(current(status), status);
            assert_eq!(stages(status)[0].0, Status::InfoReceived);
        }
        assert_eq!(current(Status::Pending), Status::InfoReceived);
    }

    #[test]
    fn the_road_bends_for_returns_and_losses() {
        let names = |s| stages(s).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(Status::Returned).last(), Some(&Status::Returned));
        assert_eq!(names(Status::Lost).len(), 3);
        assert_eq!(
            stages(Status::Delivered)
                .iter()
                .filter(|(_, s)| *s == Step::Done)
                .count(),
            3
        );
        assert_eq!(
            stages(Status::InTransit)[3],
            (Status::Delivered, Step::Todo)
        );
        assert_eq!(tone(Status::Lost), Tone::Bad);
        assert_eq!(tone(Status::Delivered), Tone::Good);
        assert_eq!(tone(Status::FailedAttempt), Tone::Warn);
        assert!(on_its_way(Status::FailedAttempt) && on_its_way(Status::Exception));
        assert!(!on_its_way(Status::Lost) && !on_its_way(Status::Returning));
    }
}
