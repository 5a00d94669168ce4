//! What makes one unitgate module different from another: the stages it decides.

use unitgate_core::{Stage, Stages};

pub trait Module: 'static {
    /// The part of the pipeline a per-concern module decides (the one-pass module: its last).
    const STAGE: Stage;
    /// Short name used in metrics (`unitgate.<NAME>.…`) and logs.
    const NAME: &'static str;
    /// Runs the stages chosen by `"stages"` in one pass (unitgate.wasm), not only `STAGE`.
    const ONE_PASS: bool = false;

    /// The stages fixed by the module, or `None` when the configuration chooses them.
    fn fixed_stages() -> Option<Stages> {
        (!Self::ONE_PASS).then(|| Stages::up_to(Self::STAGE))
    }
}
