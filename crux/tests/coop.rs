//! genrt's cooperative budget and crux's executor: a command whose step runs on a worker
//! (inside one poll of a genrt task) and awaits more ready genrt futures than the budget
//! holds (128) still finishes. Before steps ran unconstrained, the spent budget made the
//! genrt future yield, the command woke itself, and the step loop re-polled it at once
//! with the budget still spent: for ever (found by a review of the budget's commit).

use std::sync::Mutex;

use crux_core::macros::effect;
use crux_core::render::RenderOperation;
use crux_core::{App, Command};
use futures::channel::oneshot;
use support::{wait_until, Watchdog};

/// The app: one command that joins the handles left in `HANDLES` once `GATE` opens.
mod app {
    use super::*;

    #[effect]
    pub enum Effect {
        Render(RenderOperation),
    }

    pub enum Event {
        Start,
        Done,
    }

    pub(crate) static HANDLES: Mutex<Vec<genrt::JoinHandle<()>>> = Mutex::new(Vec::new());
    pub(crate) static GATE: Mutex<Option<oneshot::Receiver<()>>> = Mutex::new(None);

    #[derive(Default)]
    pub struct Joiner;

    impl App for Joiner {
        type Event = Event;
        type Model = u64;
        type ViewModel = u64;
        type Effect = Effect;

        fn update(&self, event: Event, model: &mut u64) -> Command<Effect, Event> {
            match event {
                Event::Start => {
                    let handles = std::mem::take(&mut *HANDLES.lock().unwrap());
                    let gate = GATE.lock().unwrap().take().unwrap();
                    Command::new(|ctx| async move {
                        // Woken from another thread: the next step runs on a worker.
                        gate.await.unwrap();
                        for handle in handles {
                            handle.await.unwrap();
                        }
                        ctx.send_event(Event::Done);
                    })
                }
                Event::Done => {
                    *model = 1;
                    Command::done()
                }
            }
        }

        fn view(&self, model: &u64) -> u64 {
            *model
        }
    }
}

use app::{Event, Joiner, GATE, HANDLES};

#[test]
fn a_command_on_a_worker_awaits_more_ready_futures_than_the_budget() {
    Watchdog::new("crux coop").run(|| {
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let handles: Vec<_> = (0..200).map(|_| rt.spawn(async {})).collect();
        wait_until("the 200 tasks finish", || {
            handles.iter().all(|h| h.is_finished())
        });
        *HANDLES.lock().unwrap() = handles;
        let (open, gate) = oneshot::channel();
        *GATE.lock().unwrap() = Some(gate);
        let core = genrt_crux::Core::<Joiner>::with_runtime(rt.handle().clone());
        assert!(core.process_event(Event::Start).is_empty());
        open.send(()).unwrap();
        wait_until("the command finishes", || core.view() == 1);
        drop(core);
        drop(rt);
    });
}
