//! Feedback and its endorsements; UNIQUE(feedback_id, user_id) makes "one
//! endorsement per person per item" hold under concurrent requests.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk, set_null_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade<T: IntoIden + 'static, C: IntoIden + 'static>(table: T, col: C, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Feedback::Table)
                    .col(pk_uuid(Feedback::Id))
                    .col(uuid(Feedback::OrgId))
                    .col(uuid(Feedback::AuthorId))
                    .col(string_len(Feedback::AuthorTeam, 16))
                    .col(string_len(Feedback::SubjectType, 16))
                    .col(uuid_null(Feedback::SubjectId))
                    .col(string_len(Feedback::Tag, 64))
                    .col(string_len(Feedback::Sentiment, 16))
                    .col(text(Feedback::Body))
                    .col(uuid_null(Feedback::AccountId))
                    .col(string_len(Feedback::Status, 16))
                    .col(text_null(Feedback::Response))
                    .col(uuid_null(Feedback::RespondedBy))
                    .col(timestamp_with_time_zone_null(Feedback::RespondedAt))
                    .col(integer(Feedback::Version).default(1))
                    .col(timestamp_with_time_zone(Feedback::CreatedAt))
                    .col(timestamp_with_time_zone(Feedback::UpdatedAt))
                    .foreign_key(&mut org_fk(Feedback::Table, Feedback::OrgId))
                    .foreign_key(&mut cascade(Feedback::Table, Feedback::AuthorId, "users"))
                    .foreign_key(&mut set_null_fk(Feedback::Table, Feedback::AccountId, "accounts"))
                    .foreign_key(&mut set_null_fk(Feedback::Table, Feedback::RespondedBy, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use Feedback::*;
            // The list (newest first) and its filters; themes by period; "my feedback".
            index(manager, "ix_feedback_org_id", Table, &[OrgId, Id], false).await?;
            index(manager, "ix_feedback_org_status", Table, &[OrgId, Status, Id], false).await?;
            index(manager, "ix_feedback_org_subject", Table, &[OrgId, SubjectType, SubjectId, Tag], false).await?;
            index(manager, "ix_feedback_org_created", Table, &[OrgId, CreatedAt], false).await?;
            index(manager, "ix_feedback_org_author", Table, &[OrgId, AuthorId, Id], false).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(FeedbackEndorsements::Table)
                    .col(pk_uuid(FeedbackEndorsements::Id))
                    .col(uuid(FeedbackEndorsements::OrgId))
                    .col(uuid(FeedbackEndorsements::FeedbackId))
                    .col(uuid(FeedbackEndorsements::UserId))
                    .col(string_len(FeedbackEndorsements::Team, 16))
                    .col(uuid_null(FeedbackEndorsements::AccountId))
                    .col(text_null(FeedbackEndorsements::Comment))
                    .col(timestamp_with_time_zone(FeedbackEndorsements::CreatedAt))
                    .foreign_key(&mut org_fk(FeedbackEndorsements::Table, FeedbackEndorsements::OrgId))
                    .foreign_key(&mut cascade(
                        FeedbackEndorsements::Table,
                        FeedbackEndorsements::FeedbackId,
                        "feedback",
                    ))
                    .foreign_key(&mut cascade(FeedbackEndorsements::Table, FeedbackEndorsements::UserId, "users"))
                    .foreign_key(&mut set_null_fk(
                        FeedbackEndorsements::Table,
                        FeedbackEndorsements::AccountId,
                        "accounts",
                    ))
                    .to_owned(),
            )
            .await?;
        {
            use FeedbackEndorsements::*;
            index(manager, "ux_feedback_endorsements_feedback_user", Table, &[FeedbackId, UserId], true).await?;
            index(manager, "ix_feedback_endorsements_org_feedback", Table, &[OrgId, FeedbackId, CreatedAt], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(FeedbackEndorsements::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Feedback::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Feedback {
    Table,
    Id,
    OrgId,
    AuthorId,
    AuthorTeam,
    SubjectType,
    SubjectId,
    Tag,
    Sentiment,
    Body,
    AccountId,
    Status,
    Response,
    RespondedBy,
    RespondedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum FeedbackEndorsements {
    Table,
    Id,
    OrgId,
    FeedbackId,
    UserId,
    Team,
    AccountId,
    Comment,
    CreatedAt,
}
