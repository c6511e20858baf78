//! GenHook's rate-limit stage (being written).
