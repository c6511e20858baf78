//! GenHook's dispatch stage (being written).
