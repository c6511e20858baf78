//! GenHook's verify stage (being written).
