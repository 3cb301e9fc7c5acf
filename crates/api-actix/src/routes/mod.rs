//! The routes of the contract. Handlers are thin: parse, call one use case, map.

pub mod accounts;
pub mod app_page;
pub mod booking;
pub mod catalog;
pub mod ops;
pub mod screens;
