//! GraphQL types and resolvers of the agreement workflow and of definitions, ideal
//! customer profiles and SLAs. Each kind's document and version types come from
//! [`agreed_document_types!`], so every kind exposes the same `inForce`, `pending`,
//! `versions` and `changes`.

mod alignment;
pub use alignment::AlignmentSubscription;
mod goals;
mod taxonomies;

pub use goals::*;
pub use taxonomies::*;

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::DocumentCriteria;
use super::definitions::{Definition as DefinitionBody, term_key};
use super::icps::{IdealCustomerProfile as IcpBody, Range, RevenueRange};
use super::slas::{SlaBody, SlaMetric, SlaPeriod};
use crate::error::Result;
use crate::graphql::patch::{apply, clearable, keep_or_set};
use crate::graphql::{actor, db, loaders, parse_id};
use crate::org::graphql::{Team, User};
use crate::personas::graphql::Persona;

/// Where an agreed document stands as a whole.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::AgreementStatus")]
pub enum AgreementStatus {
    /// Being written by marketing; not yet up for approval.
    Draft,
    /// Proposed and awaiting approval by sales and marketing; nothing of it is in force yet.
    Proposed,
    /// Agreed by both teams and in force (a newer version may be pending: see `pending`).
    Agreed,
    /// Out of force for good; kept for history.
    Retired,
}

/// Where one version of an agreed document stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::VersionStatus")]
pub enum VersionStatus {
    /// Being written; not yet up for approval.
    Draft,
    /// Awaiting approval of this exact version.
    Proposed,
    /// Agreed and in force.
    Agreed,
    /// Replaced by a later version, or closed without being agreed.
    Superseded,
    /// Was in force when the document was retired.
    Retired,
}

/// The kinds of agreed documents; each shares the same workflow.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::DocumentKind")]
pub enum DocumentKind {
    /// A glossary definition (`Definition`).
    Definition,
    /// An ideal customer profile (`IdealCustomerProfile`).
    IdealCustomerProfile,
    /// A buyer persona (`Persona`).
    Persona,
    /// A service-level agreement between teams (`Sla`).
    Sla,
    /// A lead scoring model (`ScoringModel`).
    ScoringModel,
    /// A message of the message matrix (`Message`).
    Message,
    /// An agreed word list: feedback tags, hand-back reasons, lost reasons or competitors (`Taxonomy`).
    Taxonomy,
}

/// A sign-off of one exact version for one team.
pub struct Approval(pub entity::approval::Model);

/// A sign-off of one exact version for one team.
#[Object]
impl Approval {
    /// The approving MANAGER or ADMIN; null if that user is gone.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(User::from))
    }

    /// Id of the approving user.
    async fn user_id(&self) -> ID {
        self.0.user_id.into()
    }

    /// The team the approval counts for (the approver's team when approving).
    async fn team(&self) -> Team {
        self.0.team.into()
    }

    /// When the version was approved (UTC).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// How one field differs between two versions.
#[derive(SimpleObject, Clone)]
pub struct FieldChange {
    /// Name of the body field, such as `body` or `criteria`.
    pub field: String,
    /// Its value in the `from` version (null when absent).
    pub from: Json<Value>,
    /// Its value in the `to` version (null when absent).
    pub to: Json<Value>,
}

impl From<super::FieldChange> for FieldChange {
    fn from(c: super::FieldChange) -> Self {
        Self { field: c.field, from: Json(c.from), to: Json(c.to) }
    }
}

/// Declare the GraphQL document type and version type of one agreed document kind.
macro_rules! agreed_document_types {
    ($doc:ident, $version:ident, $body:ty, $doc_desc:literal, $version_desc:literal $(, { $($extra:tt)* })?) => {
        #[derive(Clone)]
        pub struct $version(pub $crate::agreements::Version<$body>);

        #[doc = $version_desc]
        #[async_graphql::Object]
        impl $version {
            /// Number of this version (1, 2, 3, …); approvals name exactly this number.
            async fn version(&self) -> i32 {
                self.0.model.version
            }

            /// Where this version stands.
            async fn status(&self) -> $crate::agreements::graphql::VersionStatus {
                self.0.model.status.into()
            }

            /// The content of this version.
            async fn body(&self) -> &$body {
                &self.0.body
            }

            /// Who approved this exact version, for which team, and when, oldest first.
            async fn approvals(&self) -> Vec<$crate::agreements::graphql::Approval> {
                self.0.approvals.iter().cloned().map($crate::agreements::graphql::Approval).collect()
            }

            /// Who wrote this version; null for Accord itself or a user who is gone.
            async fn author(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::error::Result<Option<$crate::org::graphql::User>> {
                let Some(id) = self.0.model.created_by else { return Ok(None) };
                Ok($crate::graphql::loaders(ctx)?.users.load_one(id).await?.map(Into::into))
            }

            /// When this version was written (UTC).
            async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.0.model.created_at
            }

            /// When this version was proposed for approval; null for a draft.
            async fn proposed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
                self.0.model.proposed_at
            }

            /// When this version was agreed; null if it never was.
            async fn agreed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
                self.0.model.agreed_at
            }
        }

        #[derive(Clone)]
        pub struct $doc(pub $crate::agreements::Document<$body>);

        #[doc = $doc_desc]
        #[async_graphql::Object]
        impl $doc {
            /// Stable id of the document (the same across versions).
            pub(crate) async fn id(&self) -> async_graphql::ID {
                self.0.model.id.into()
            }

            /// Display name of the newest version.
            async fn title(&self) -> &str {
                &self.0.model.title
            }

            /// Where the document stands. AGREED while a version is in force, even when a newer one is pending.
            async fn status(&self) -> $crate::agreements::graphql::AgreementStatus {
                self.0.model.status.into()
            }

            /// Number of the newest version; pass it as `expectedVersion` when editing.
            async fn version(&self) -> i32 {
                self.0.model.latest_version
            }

            /// The agreed version in force; null until one is agreed, and once retired.
            async fn in_force(&self) -> Option<$version> {
                self.0.in_force().cloned().map($version)
            }

            /// The proposed version awaiting approval; null when none is.
            async fn pending(&self) -> Option<$version> {
                self.0.pending().cloned().map($version)
            }

            /// Every version, oldest first.
            async fn versions(&self) -> Vec<$version> {
                self.0.versions.iter().cloned().map($version).collect()
            }

            /// Field-by-field difference between two versions' bodies (only fields that differ).
            async fn changes(
                &self,
                #[graphql(desc = "The earlier version number, from 1 to `version`.")] from: i32,
                #[graphql(desc = "The later version number, from 1 to `version`.")] to: i32,
            ) -> $crate::error::Result<Vec<$crate::agreements::graphql::FieldChange>> {
                Ok(self.0.changes(from, to)?.into_iter().map(Into::into).collect())
            }

            /// When the document was created (UTC).
            async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.0.model.created_at
            }

            /// When the document last changed (UTC).
            async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.0.model.updated_at
            }

            $($($extra)*)?
        }
    };
}

pub(crate) use agreed_document_types;

agreed_document_types!(
    Definition,
    DefinitionVersion,
    DefinitionBody,
    "A term of the shared glossary, agreed by sales and marketing, with every version.",
    "One version of a definition, with its approvals."
);
agreed_document_types!(
    IdealCustomerProfile,
    IdealCustomerProfileVersion,
    IcpBody,
    "An ideal customer profile (ICP) agreed by sales and marketing, with every version.",
    "One version of an ideal customer profile, with its approvals."
);
agreed_document_types!(
    Sla,
    SlaVersion,
    SlaBody,
    "A service-level agreement between two teams, agreed by sales and marketing, with every version.",
    "One version of an SLA, with its approvals.",
    {
        /// How the SLA was kept in each of its periods (weeks, months or quarters) that
        /// overlap `period`, each judged by the version in force when it began
        /// (`SlaCompliance.slaVersion`). API keys need `KPIS_READ`.
        async fn compliance(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "The days to measure, in the organization's time zone.")]
            period: crate::kpi::graphql::PeriodInput,
        ) -> Result<Vec<crate::kpi::graphql::SlaCompliance>> {
            let compliance =
                crate::kpi::progress::sla_compliance(db(ctx), actor(ctx)?, &self.0, period.from, period.to).await?;
            Ok(compliance.into_iter().map(Into::into).collect())
        }
    }
);

/// Any agreed document.
#[derive(Union)]
pub enum AgreedDocument {
    /// A glossary definition.
    Definition(Definition),
    /// An ideal customer profile.
    IdealCustomerProfile(IdealCustomerProfile),
    /// A buyer persona.
    Persona(Persona),
    /// A service-level agreement.
    Sla(Sla),
    /// A lead scoring model.
    ScoringModel(crate::scoring::graphql::ScoringModel),
    /// A message of the message matrix.
    Message(crate::messaging::graphql::Message),
    /// An agreed word list.
    Taxonomy(Taxonomy),
}

async fn load_document(ctx: &Context<'_>, kind: entity::DocumentKind, id: uuid::Uuid) -> Result<AgreedDocument> {
    let (db, actor) = (db(ctx), actor(ctx)?);
    Ok(match kind {
        entity::DocumentKind::Definition => AgreedDocument::Definition(Definition(super::get(db, actor, id).await?)),
        entity::DocumentKind::IdealCustomerProfile => {
            AgreedDocument::IdealCustomerProfile(IdealCustomerProfile(super::get(db, actor, id).await?))
        }
        entity::DocumentKind::Persona => AgreedDocument::Persona(Persona(super::get(db, actor, id).await?)),
        entity::DocumentKind::Sla => AgreedDocument::Sla(Sla(super::get(db, actor, id).await?)),
        entity::DocumentKind::ScoringModel => {
            AgreedDocument::ScoringModel(crate::scoring::graphql::ScoringModel(super::get(db, actor, id).await?))
        }
        entity::DocumentKind::Message => {
            AgreedDocument::Message(crate::messaging::graphql::Message(super::get(db, actor, id).await?))
        }
        entity::DocumentKind::Taxonomy => AgreedDocument::Taxonomy(Taxonomy(super::get(db, actor, id).await?)),
    })
}

/// The body of one version of an SLA.
#[Object(name = "SlaBody")]
impl SlaBody {
    /// The team that delivers (such as SALES answering handovers).
    async fn provider_team(&self) -> Team {
        self.provider_team.into()
    }

    /// The team that relies on it (such as MARKETING, whose leads are answered).
    async fn consumer_team(&self) -> Team {
        self.consumer_team.into()
    }

    /// What is measured.
    async fn metric(&self) -> SlaMetric {
        self.metric
    }

    /// The target, 0.01 to 1,000,000: a ceiling for times (`*_HOURS`, `*_DAYS`), a floor for volumes.
    async fn target(&self) -> f64 {
        self.target
    }

    /// The period measured over.
    async fn period(&self) -> SlaPeriod {
        self.period
    }

    /// Optional notes: exceptions, how it is measured.
    async fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

/// Narrows a list of definitions. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct DefinitionFilter {
    /// Only definitions in this status.
    pub status: Option<AgreementStatus>,
    /// Case-insensitive text in the term or the newest body.
    pub search: Option<String>,
}

/// Names one agreed document.
#[derive(InputObject)]
pub struct DocumentInput {
    /// Kind of the document.
    pub kind: DocumentKind,
    /// Id of the document.
    pub id: ID,
}

/// Names one exact version of an agreed document.
#[derive(InputObject)]
pub struct DocumentVersionInput {
    /// Kind of the document.
    pub kind: DocumentKind,
    /// Id of the document.
    pub id: ID,
    /// The version number you reviewed; it must be the pending one (any other number is CONFLICT).
    pub version: i32,
    /// Approving a scoring model version that makes more leads MQLs at once than the
    /// organization's `promotionsNeedingConfirmation`: the number of those leads, as
    /// `simulateScoringModel` reports it (0 to 10,000,000). Ignored elsewhere.
    pub confirm_promotions: Option<i32>,
}

/// The result of a workflow step (propose, approve, withdraw, retire).
#[derive(SimpleObject)]
pub struct DocumentPayload {
    /// The document after the step.
    pub document: AgreedDocument,
    /// True when this step made a version AGREED.
    pub agreed: bool,
}

/// A new definition.
#[derive(InputObject)]
pub struct CreateDefinitionInput {
    /// The term, such as "MQL"; unique within the organization.
    pub term: String,
    /// What the term means.
    pub body: String,
    /// Optional structured criteria (a JSON object).
    pub criteria: Option<Json<Value>>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of a definition: a new version, whose fields left out are those of the
/// newest version (the one you edited from). null clears the criteria and is
/// BAD_USER_INPUT for the term and the meaning.
#[derive(InputObject)]
pub struct UpdateDefinitionInput {
    /// The definition to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New term. Left out: unchanged. null is refused.
    pub term: MaybeUndefined<String>,
    /// New meaning. Left out: unchanged. null is refused.
    pub body: MaybeUndefined<String>,
    /// New criteria (a JSON object). Left out: unchanged. null: cleared.
    pub criteria: MaybeUndefined<Json<Value>>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing a definition.
#[derive(SimpleObject)]
pub struct DefinitionPayload {
    /// The definition after the change.
    pub definition: Definition,
}

/// A new ideal customer profile.
#[derive(InputObject)]
pub struct CreateIdealCustomerProfileInput {
    /// Name; unique within the organization.
    pub name: String,
    /// Industries that fit.
    #[graphql(default)]
    pub industries: Vec<String>,
    /// Company size in employees.
    pub employee_range: Option<Range>,
    /// Annual revenue.
    pub revenue_range: Option<RevenueRange>,
    /// Regions that fit.
    #[graphql(default)]
    pub regions: Vec<String>,
    /// Further criteria (a JSON object).
    pub extra_criteria: Option<Json<Value>>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of an ideal customer profile: a new version, whose fields left out are
/// those of the newest version (the one you edited from). null clears a range or the
/// further criteria and is BAD_USER_INPUT for the name and the lists (`[]` empties a list).
#[derive(InputObject)]
pub struct UpdateIdealCustomerProfileInput {
    /// The profile to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New industries (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub industries: MaybeUndefined<Vec<String>>,
    /// New employee range. Left out: unchanged. null: cleared.
    pub employee_range: MaybeUndefined<Range>,
    /// New revenue range. Left out: unchanged. null: cleared.
    pub revenue_range: MaybeUndefined<RevenueRange>,
    /// New regions (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub regions: MaybeUndefined<Vec<String>>,
    /// New further criteria (a JSON object). Left out: unchanged. null: cleared.
    pub extra_criteria: MaybeUndefined<Json<Value>>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing an ideal customer profile.
#[derive(SimpleObject)]
pub struct IdealCustomerProfilePayload {
    /// The profile after the change.
    pub ideal_customer_profile: IdealCustomerProfile,
}

/// A new SLA.
#[derive(InputObject)]
pub struct CreateSlaInput {
    /// The team that delivers.
    pub provider_team: Team,
    /// The team that relies on it.
    pub consumer_team: Team,
    /// What is measured.
    pub metric: SlaMetric,
    /// The target (a ceiling for times, a floor for volumes): 0.01 to 1,000,000.
    pub target: f64,
    /// The period measured over.
    pub period: SlaPeriod,
    /// Optional notes.
    pub description: Option<String>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of an SLA: a new version, whose fields left out are those of the newest
/// version (the one you edited from). null clears the notes and is BAD_USER_INPUT for
/// the other fields.
#[derive(InputObject)]
pub struct UpdateSlaInput {
    /// The SLA to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New providing team. Left out: unchanged. null is refused.
    pub provider_team: MaybeUndefined<Team>,
    /// New consuming team. Left out: unchanged. null is refused.
    pub consumer_team: MaybeUndefined<Team>,
    /// New metric. Left out: unchanged. null is refused.
    pub metric: MaybeUndefined<SlaMetric>,
    /// New target: 0.01 to 1,000,000. Left out: unchanged. null is refused.
    pub target: MaybeUndefined<f64>,
    /// New period. Left out: unchanged. null is refused.
    pub period: MaybeUndefined<SlaPeriod>,
    /// New notes. Left out: unchanged. null: cleared.
    pub description: MaybeUndefined<String>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing an SLA.
#[derive(SimpleObject)]
pub struct SlaPayload {
    /// The SLA after the change.
    pub sla: Sla,
}

#[derive(Default)]
pub struct AgreementsQuery;

#[Object]
impl AgreementsQuery {
    /// The shared glossary, by term.
    async fn definitions(&self, ctx: &Context<'_>, filter: Option<DefinitionFilter>) -> Result<Vec<Definition>> {
        let filter = filter.unwrap_or_default();
        let criteria =
            DocumentCriteria { statuses: filter.status.into_iter().map(Into::into).collect(), search: filter.search };
        let docs = super::list::<DefinitionBody>(db(ctx), actor(ctx)?, &criteria).await?;
        Ok(docs.into_iter().map(Definition).collect())
    }

    /// One definition by its term (case-insensitive); null with NOT_FOUND when absent.
    async fn definition(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term, such as \"MQL\".")] term: String,
    ) -> Result<Option<Definition>> {
        Ok(Some(Definition(super::find_by_key(db(ctx), actor(ctx)?, &term_key(&term)).await?)))
    }

    /// Every ideal customer profile, by name.
    async fn ideal_customer_profiles(&self, ctx: &Context<'_>) -> Result<Vec<IdealCustomerProfile>> {
        let docs = super::list::<IcpBody>(db(ctx), actor(ctx)?, &DocumentCriteria::default()).await?;
        Ok(docs.into_iter().map(IdealCustomerProfile).collect())
    }

    /// Every SLA between the teams, by providing team, consuming team and metric.
    async fn slas(&self, ctx: &Context<'_>) -> Result<Vec<Sla>> {
        let docs = super::list::<SlaBody>(db(ctx), actor(ctx)?, &DocumentCriteria::default()).await?;
        Ok(docs.into_iter().map(Sla).collect())
    }

    /// The state of the alignment contract: counts per document kind, what awaits the
    /// caller's approval, and proposals one team approved that wait for the other.
    async fn alignment(&self, ctx: &Context<'_>) -> Result<super::alignment::AlignmentOverview> {
        super::alignment::overview(db(ctx), actor(ctx)?).await
    }
}

#[derive(Default)]
pub struct AgreementsMutation;

#[Object]
impl AgreementsMutation {
    /// Define a term. MARKETING keeps a DRAFT (unless `propose`); other teams propose it at once.
    async fn create_definition(&self, ctx: &Context<'_>, input: CreateDefinitionInput) -> Result<DefinitionPayload> {
        let body = DefinitionBody { term: input.term, body: input.body, criteria: input.criteria };
        let doc = super::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(DefinitionPayload { definition: Definition(doc) })
    }

    /// Edit a definition: a new version. Editing an AGREED definition proposes the new
    /// version while the agreed one stays in force. A RETIRED one cannot be edited.
    async fn update_definition(&self, ctx: &Context<'_>, input: UpdateDefinitionInput) -> Result<DefinitionPayload> {
        let id = parse_id("id", &input.id)?;
        let term = keep_or_set("term", input.term)?;
        let body = keep_or_set("body", input.body)?;
        let criteria = clearable(input.criteria);
        let doc =
            super::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: DefinitionBody| {
                Ok(DefinitionBody {
                    term: term.unwrap_or(b.term),
                    body: body.unwrap_or(b.body),
                    criteria: apply(b.criteria, criteria),
                })
            })
            .await?;
        Ok(DefinitionPayload { definition: Definition(doc) })
    }

    /// Describe an ideal customer profile. MARKETING keeps a DRAFT (unless `propose`); other teams propose it at once.
    async fn create_ideal_customer_profile(
        &self,
        ctx: &Context<'_>,
        input: CreateIdealCustomerProfileInput,
    ) -> Result<IdealCustomerProfilePayload> {
        let body = IcpBody {
            name: input.name,
            industries: input.industries,
            employee_range: input.employee_range,
            revenue_range: input.revenue_range,
            regions: input.regions,
            extra_criteria: input.extra_criteria,
        };
        let doc = super::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(IdealCustomerProfilePayload { ideal_customer_profile: IdealCustomerProfile(doc) })
    }

    /// Edit an ideal customer profile: a new version (proposed when the profile is agreed).
    async fn update_ideal_customer_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateIdealCustomerProfileInput,
    ) -> Result<IdealCustomerProfilePayload> {
        let id = parse_id("id", &input.id)?;
        let name = keep_or_set("name", input.name)?;
        let industries = keep_or_set("industries", input.industries)?;
        let regions = keep_or_set("regions", input.regions)?;
        let doc = super::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: IcpBody| {
            Ok(IcpBody {
                name: name.unwrap_or(b.name),
                industries: industries.unwrap_or(b.industries),
                employee_range: apply(b.employee_range, clearable(input.employee_range)),
                revenue_range: apply(b.revenue_range, clearable(input.revenue_range)),
                regions: regions.unwrap_or(b.regions),
                extra_criteria: apply(b.extra_criteria, clearable(input.extra_criteria)),
            })
        })
        .await?;
        Ok(IdealCustomerProfilePayload { ideal_customer_profile: IdealCustomerProfile(doc) })
    }

    /// Write down an SLA between two teams. MARKETING keeps a DRAFT (unless `propose`); other teams propose it at once.
    async fn create_sla(&self, ctx: &Context<'_>, input: CreateSlaInput) -> Result<SlaPayload> {
        let body = SlaBody {
            provider_team: input.provider_team.into(),
            consumer_team: input.consumer_team.into(),
            metric: input.metric,
            target: input.target,
            period: input.period,
            description: input.description,
        };
        let doc = super::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(SlaPayload { sla: Sla(doc) })
    }

    /// Edit an SLA: a new version (proposed when the SLA is agreed).
    async fn update_sla(&self, ctx: &Context<'_>, input: UpdateSlaInput) -> Result<SlaPayload> {
        let id = parse_id("id", &input.id)?;
        let provider_team = keep_or_set("providerTeam", input.provider_team)?;
        let consumer_team = keep_or_set("consumerTeam", input.consumer_team)?;
        let metric = keep_or_set("metric", input.metric)?;
        let target = keep_or_set("target", input.target)?;
        let period = keep_or_set("period", input.period)?;
        let doc = super::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: SlaBody| {
            Ok(SlaBody {
                provider_team: provider_team.map_or(b.provider_team, Into::into),
                consumer_team: consumer_team.map_or(b.consumer_team, Into::into),
                metric: metric.unwrap_or(b.metric),
                target: target.unwrap_or(b.target),
                period: period.unwrap_or(b.period),
                description: apply(b.description, clearable(input.description)),
            })
        })
        .await?;
        Ok(SlaPayload { sla: Sla(doc) })
    }

    /// Put a DRAFT up for approval by sales and marketing.
    async fn propose_document(&self, ctx: &Context<'_>, input: DocumentInput) -> Result<DocumentPayload> {
        let id = parse_id("id", &input.id)?;
        let doc = super::propose(db(ctx), actor(ctx)?, input.kind.into(), id).await?;
        Ok(DocumentPayload { document: load_document(ctx, doc.kind, doc.id).await?, agreed: false })
    }

    /// Approve one exact pending version for your team (MANAGERs and ADMINs of SALES
    /// and MARKETING, and of SERVICE when the organization requires it). The version
    /// becomes AGREED once every approving team has approved it.
    async fn approve_document(&self, ctx: &Context<'_>, input: DocumentVersionInput) -> Result<DocumentPayload> {
        let id = parse_id("id", &input.id)?;
        let promotions = input
            .confirm_promotions
            .map(|n| crate::validate::int_range("confirmPromotions", n, 0, 10_000_000).map(|n| n as u64))
            .transpose()?;
        let confirmed = super::Confirmations { promotions };
        let outcome =
            super::approve_confirming(db(ctx), actor(ctx)?, input.kind.into(), id, input.version, confirmed).await?;
        let document = load_document(ctx, outcome.document.kind, id).await?;
        Ok(DocumentPayload { document, agreed: outcome.agreed })
    }

    /// Take back your approval of a version that is still pending.
    async fn withdraw_approval(&self, ctx: &Context<'_>, input: DocumentVersionInput) -> Result<DocumentPayload> {
        let id = parse_id("id", &input.id)?;
        let doc = super::withdraw_approval(db(ctx), actor(ctx)?, input.kind.into(), id, input.version).await?;
        Ok(DocumentPayload { document: load_document(ctx, doc.kind, id).await?, agreed: false })
    }

    /// Take a document out of force for good (approvers and ADMINs). It can no longer be edited.
    async fn retire_document(&self, ctx: &Context<'_>, input: DocumentInput) -> Result<DocumentPayload> {
        let id = parse_id("id", &input.id)?;
        let doc = super::retire(db(ctx), actor(ctx)?, input.kind.into(), id).await?;
        Ok(DocumentPayload { document: load_document(ctx, doc.kind, id).await?, agreed: false })
    }
}
