//! GenHook's template stage (being written).
