//! The effect loop, the way a Crux-style core drives genrt: events go in, the update runs as
//! tasks, effects come out; a shell on other threads performs the effects and resolves them,
//! which wakes the waiting tasks.
//!
//! The core: `process_event` spawns the update, `settle`s the runtime (every task is
//! suspended or finished), and returns the effects the tasks emitted. The shell: a thread
//! that performs effects and resolves requests. At the end the runtime is dropped while a
//! request is unresolved: its task's future is freed at once, and the late resolve hands the
//! value back instead of waking anything.
//! Run it with `cargo run --example effects`.

use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use genrt::shell::{self, Resolver};

/// What happens to the app, and what the core asks the shell to do: show the model (no
/// answer expected), or fetch an item's price (answered through the resolver).
enum Event {
    Increment,
    Buy(u32),
}
enum Effect {
    Render(u64),
    Fetch { id: u32, resolver: Resolver<u64> },
}

/// The core: a model, an outbox of effects, and a runtime to run updates on.
struct Core {
    rt: genrt::Runtime,
    model: Arc<Mutex<u64>>,
    outbox: Arc<Mutex<Vec<Effect>>>,
}

impl Core {
    /// Runs the update for `event` until every task is waiting on the shell or done, and
    /// returns the effects emitted meanwhile.
    fn process_event(&self, event: Event) -> Vec<Effect> {
        let (model, outbox) = (self.model.clone(), self.outbox.clone());
        let add = move |amount| {
            let mut m = model.lock().unwrap();
            *m += amount;
            outbox.lock().unwrap().push(Effect::Render(*m));
        };
        let outbox = self.outbox.clone();
        drop(self.rt.spawn(async move {
            match event {
                Event::Increment => add(1),
                Event::Buy(id) => {
                    // Suspend until the shell answers; the request holds only a key waker.
                    let (request, resolver) = shell::request();
                    outbox.lock().unwrap().push(Effect::Fetch { id, resolver });
                    add(request.await.unwrap_or(0));
                }
            }
        }));
        self.settle()
    }

    /// Settles the runtime (also after a shell resolve woke a task) and takes the outbox.
    fn settle(&self) -> Vec<Effect> {
        self.rt.settle();
        std::mem::take(&mut *self.outbox.lock().unwrap())
    }
}

/// The shell's report on each request: resolved, or held unanswered (item 0).
enum Reply {
    Resolved,
    Held(Resolver<u64>),
}

/// The shell: a thread that performs effects; `Fetch` is answered after some "I/O".
fn shell(effects: mpsc::Receiver<Effect>, replies: mpsc::Sender<Reply>) {
    for effect in effects {
        if let Effect::Fetch { id, resolver } = effect {
            if id == 0 {
                replies.send(Reply::Held(resolver)).unwrap();
                continue;
            }
            let price = u64::from(id) * 10; // the "response"
            resolver.resolve(price).expect("the task is waiting");
            replies.send(Reply::Resolved).unwrap();
        }
    }
}

/// Feeds one event through the core: renders are shown here, requests go to the shell; each
/// answer wakes a task, so settle again and go on until no effect is left.
fn run(
    core: &Core,
    event: Event,
    to_shell: &mpsc::Sender<Effect>,
    replies: &mpsc::Receiver<Reply>,
) -> Vec<Resolver<u64>> {
    let mut held = Vec::new();
    let mut effects = core.process_event(event);
    while !effects.is_empty() {
        let mut asked = 0;
        for effect in effects {
            match effect {
                Effect::Render(total) => println!("render: model = {total}"),
                request => {
                    to_shell.send(request).unwrap();
                    asked += 1;
                }
            }
        }
        for _ in 0..asked {
            if let Reply::Held(resolver) = replies.recv().unwrap() {
                held.push(resolver);
            }
        }
        effects = core.settle();
    }
    held
}

fn main() -> std::io::Result<()> {
    let rt = genrt::Builder::new().worker_threads(2).build()?;
    let (model, outbox) = (Arc::default(), Arc::default());
    let core = Core { rt, model, outbox };
    let (to_shell, effects) = mpsc::channel();
    let (reply, replies) = mpsc::channel();
    let shell = thread::spawn(move || shell(effects, reply));

    use Event::{Buy, Increment};
    for event in [Increment, Buy(3), Increment, Buy(5)] {
        run(&core, event, &to_shell, &replies);
    }
    // An item the shell never answers: its task stays suspended on the request.
    let held = run(&core, Buy(0), &to_shell, &replies);
    let live = core.rt.metrics().snapshot().live_tasks;
    println!("live tasks before the drop: {live}");

    // Dropping the core drops the runtime: the suspended task's future is freed now, though
    // the shell still holds the request's resolver (and with it the task's waker).
    drop(core);
    for resolver in held {
        match resolver.resolve(42) {
            Ok(()) => unreachable!("nobody is waiting any more"),
            Err(value) => println!("late resolve handed its value back: {value}"),
        }
    }
    drop(to_shell);
    shell.join().unwrap();
    Ok(())
}
