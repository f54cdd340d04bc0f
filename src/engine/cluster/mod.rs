//! A run spread over many workers — threads of one process, or processes on
//! many machines — on timely dataflow.
//!
//! The dataflow is small because the pedigree is known to everyone: each
//! worker reads the whole pedigree and computes the same [`Placement`](placement::Placement), so
//! the only things that travel are what cannot be recomputed:
//!
//! - **ancestors**: the genome and latent of each person with children, sent
//!   (bincode over timely's channels) to the workers that own those children;
//! - **to the leader** (worker 0): what simulating each person decided
//!   (region origins, pool keys, warnings) so it can write the manifest, and
//!   progress counts so one progress bar covers the whole cluster.
//!
//! The timestamp is the generation. A worker renders generation `g` once its
//! probe shows that no message of an earlier generation is still under way:
//! by then every parent of its generation-`g` people has arrived. All random
//! draws come from per-person streams, so the files are byte-identical to a
//! single-machine run whatever the number of workers.
//!
//! Failure: when a process dies, the others notice the dropped connection,
//! stop their workers and return an error naming the lost process within a
//! second or so instead of waiting on workers that may never finish. Every
//! image is written atomically, so rerunning the whole job with `--resume`
//! completes it.
//!
//! One concern per file:
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | the cluster's shape, the host file, each worker's model |
//! | `connect.rs` | connecting the processes before timely takes the sockets |
//! | `placement.rs` | which worker owns which person |
//! | `wire.rs` | the messages that travel between workers |
//! | `gather.rs` | messages routed to one worker and collected there |
//! | `supervise.rs` | starting this process's workers and watching them (`execute`, also `famsim eval`'s) |
//! | `failure.rs` | noticing a lost process and naming it |
//! | `worker.rs` | one worker's dataflow and generation loop; the leader's manifest |

mod config;
mod connect;
mod failure;
mod gather;
mod placement;
mod supervise;
mod wire;
mod worker;

pub use config::{read_hostfile, ClusterConfig, ModelFactory, WorkerSlot, DEFAULT_CONNECT_TIMEOUT};
pub use gather::ToLeader;
pub use supervise::{execute, simulate};
