//! GenHook's extract stage (being written).
