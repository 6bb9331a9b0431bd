//! Rendering only: `(&State) -> frame`. No I/O, no channels, no mutation.
