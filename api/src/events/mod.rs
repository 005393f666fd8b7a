//! What happened: the audit log (and, with later issues, the outbox feeding
//! subscriptions and webhooks). Rows are written in the transaction of the change.

pub mod audit;
pub mod graphql;
