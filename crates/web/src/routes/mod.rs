pub mod callback;
pub mod dashboard;
pub mod deauth;
pub mod disconnect;
pub mod fitbit;
pub mod openhumans;
pub mod pages;
