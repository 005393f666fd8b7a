//! What happened: the audit log and the outbox (events for other systems, such as
//! subscriptions and webhooks, to consume; Accord itself only writes them). Rows are
//! written in the transaction of the change.

pub mod archive;
pub mod audit;
pub mod graphql;
pub mod outbox;
pub mod relay;
