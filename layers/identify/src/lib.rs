//! GenHook's identify stage (being written).
