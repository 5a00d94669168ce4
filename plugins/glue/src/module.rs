//! What makes one unitgate module different from another: the stages it decides.

use unitgate_core::Stage;

pub trait Module: 'static {
    /// The part of the pipeline a per-concern module decides (the one-pass module: its last).
    const STAGE: Stage;
    /// Short name used in metrics (`unitgate.<NAME>.…`) and logs.
    const NAME: &'static str;
    /// Runs the stages chosen by `"stages"` in one pass (unitgate.wasm), not only `STAGE`.
    const ONE_PASS: bool = false;

    /// The stage of a per-concern module, or `None` for the one-pass module.
    fn own_stage() -> Option<Stage> {
        (!Self::ONE_PASS).then_some(Self::STAGE)
    }
}
