//! Sending invite mail: the outbox worker, its transport and the template.

pub mod server;
pub mod template;
pub mod transport;
pub mod worker;

pub use transport::MailTransport;
pub use worker::run_outbox;
