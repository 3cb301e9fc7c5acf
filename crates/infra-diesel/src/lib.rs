//! Storage adapter.
