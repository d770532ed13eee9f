pub mod callback;
pub mod dashboard;
pub mod fitbit;
pub mod openhumans;
pub mod pages;
