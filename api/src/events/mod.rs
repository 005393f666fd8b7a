//! What happened: the audit log and the outbox (which, with later issues, feeds
//! subscriptions and webhooks). Rows are written in the transaction of the change.

pub mod archive;
pub mod audit;
pub mod graphql;
pub mod outbox;
