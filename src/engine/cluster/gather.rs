//! Messages routed to one worker and collected there: the engine's
//! ancestors and leader news (`worker.rs`), and [`ToLeader`], the one
//! channel of a session whose workers only report to the leader
//! (`famsim eval`'s descriptors).

use super::failure::check_abort;
use crate::error::Result;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Input, Operator, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, Stream};
use timely::worker::Worker;
use timely::ExchangeData;

pub(super) type Feed<D> = InputHandle<u64, CapacityContainerBuilder<Vec<D>>>;

/// Routes every message to the worker `route` names and appends it to
/// `into` there. The returned stream carries nothing; its frontier tells a
/// probe when every message up to a time has been appended.
pub(super) fn collect<'scope, D, R>(
    stream: Stream<'scope, u64, Vec<D>>,
    route: R,
    into: Rc<RefCell<Vec<D>>>,
) -> Stream<'scope, u64, Vec<()>>
where
    D: ExchangeData + Clone,
    R: FnMut(&D) -> u64 + 'static,
{
    stream.unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Exchange::new(route),
        "Collect",
        move |_, _| {
            move |input, _output| {
                input.for_each(|_, data| into.borrow_mut().append(data));
            }
        },
    )
}

/// Every worker's messages to the leader (worker 0), on a dataflow of
/// their own. Build one per worker, in the same order on every worker.
pub struct ToLeader<D: ExchangeData + Clone> {
    input: Feed<D>,
    arrived: Rc<RefCell<Vec<D>>>,
    probe: ProbeHandle<u64>,
}

impl<D: ExchangeData + Clone> ToLeader<D> {
    pub fn new(worker: &mut Worker) -> ToLeader<D> {
        let mut input = Feed::<D>::new();
        let arrived: Rc<RefCell<Vec<D>>> = Rc::default();
        let probe = ProbeHandle::new();
        worker.dataflow::<u64, _, _>(|scope| {
            let stream = scope.input_from(&mut input);
            collect(stream, |_| 0, arrived.clone()).probe_with(&probe);
        });
        ToLeader {
            input,
            arrived,
            probe,
        }
    }

    /// Sends messages on their way to the leader.
    pub fn send(&mut self, messages: impl IntoIterator<Item = D>) {
        for m in messages {
            self.input.send(m);
        }
        self.input.flush();
    }

    /// Lets the worker move messages along once, and hands over what has
    /// reached the leader so far (always nothing on other workers). Fails
    /// once `abort` is set (another worker failed, a peer was lost).
    pub fn poll(&mut self, worker: &mut Worker, abort: &AtomicBool) -> Result<Vec<D>> {
        worker.step();
        check_abort(abort)?;
        Ok(std::mem::take(&mut *self.arrived.borrow_mut()))
    }

    /// Closes this worker's side and waits until every worker's messages
    /// have reached the leader, handing them to `take` as they come (so a
    /// leader done with its own share still moves its progress bar).
    pub fn finish(
        self,
        worker: &mut Worker,
        abort: &AtomicBool,
        mut take: impl FnMut(Vec<D>) -> Result<()>,
    ) -> Result<()> {
        let ToLeader {
            input,
            arrived,
            probe,
        } = self;
        drop(input);
        loop {
            let done = probe.done();
            let come = std::mem::take(&mut *arrived.borrow_mut());
            take(come)?;
            if done {
                return Ok(());
            }
            worker.step_or_park(Some(Duration::from_millis(20)));
            check_abort(abort)?;
        }
    }
}
