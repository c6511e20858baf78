//! worker (being written).
