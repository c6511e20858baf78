//! The HTTP contract (tests/http_contract.rs) again, on the disk queue: the default backend,
//! the one users meet. That file picks the backend from the name of the test binary.

#[path = "http_contract.rs"]
mod http_contract;
