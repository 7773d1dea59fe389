//! The typed client's types, by the spec schema they are generated from: every body the
//! exercise sees is decoded into the type the generated client would decode it into (and
//! every request body into the type a caller would build it from).

use serde::de::DeserializeOwned;
use serde_json::Value;

use memos_api::product::types;

/// Decodes `value` into the generated type of the component schema `name`; the error says
/// why it does not fit, or that no type is known for the schema (a new schema must be
/// added here, so that nothing goes unchecked).
pub fn decode(name: &str, value: &Value) -> Result<(), String> {
    let decode = match name {
        // Responses.
        "AddResponse" => as_type::<types::AddResponse>,
        "MemoryBucketsResponse" => as_type::<types::MemoryBucketsResponse>,
        "MemoryItemResponse" => as_type::<types::MemoryItemResponse>,
        "MemoryItemListResponse" => as_type::<types::MemoryItemListResponse>,
        "MemoryGraphListResponse" => as_type::<types::MemoryGraphListResponse>,
        "DeleteMemoryResponse" => as_type::<types::DeleteMemoryResponse>,
        "SearchResponse" => as_type::<types::SearchResponse>,
        "CreateCubeResponse" => as_type::<types::CreateCubeResponse>,
        "RegisterCubeResponse" => as_type::<types::RegisterCubeResponse>,
        "ExistMemCubeIdResponse" => as_type::<types::ExistMemCubeIdResponse>,
        "UserNamesResponse" => as_type::<types::UserNamesResponse>,
        "RecordResponse" => as_type::<types::RecordResponse>,
        "ChatCompleteResponse" => as_type::<types::ChatCompleteResponse>,
        "SuggestionResponse" => as_type::<types::SuggestionResponse>,
        "FeedbackResponse" => as_type::<types::FeedbackResponse>,
        "AllStatusResponse" => as_type::<types::AllStatusResponse>,
        "TaskStatusResponse" => as_type::<types::TaskStatusResponse>,
        "TaskQueueResponse" => as_type::<types::TaskQueueResponse>,
        "SchedulerWaitResponse" => as_type::<types::SchedulerWaitResponse>,
        "Health" => as_type::<types::Health>,
        "ErrorBody" => as_type::<types::ErrorBody>,
        // Stream events.
        "ChatStreamEvent" => as_type::<types::ChatStreamEvent>,
        "SchedulerProgressEvent" => as_type::<types::SchedulerProgressEvent>,
        // Requests.
        "AddRequest" => as_type::<types::AddRequest>,
        "GetMemoryRequest" => as_type::<types::GetMemoryRequest>,
        "MemoryIds" => as_type::<types::MemoryIds>,
        "GetAllRequest" => as_type::<types::GetAllRequest>,
        "DeleteMemoryRequest" => as_type::<types::DeleteMemoryRequest>,
        "GetMemoryDashboardRequest" => as_type::<types::GetMemoryDashboardRequest>,
        "SearchRequest" => as_type::<types::SearchRequest>,
        "CreateCubeRequest" => as_type::<types::CreateCubeRequest>,
        "RegisterCubeRequest" => as_type::<types::RegisterCubeRequest>,
        "ExistMemCubeIdRequest" => as_type::<types::ExistMemCubeIdRequest>,
        "GetUserNamesByMemoryIdsRequest" => as_type::<types::GetUserNamesByMemoryIdsRequest>,
        "DeleteMemoryByRecordIdRequest" => as_type::<types::DeleteMemoryByRecordIdRequest>,
        "RecoverMemoryByRecordIdRequest" => as_type::<types::RecoverMemoryByRecordIdRequest>,
        "ChatRequest" => as_type::<types::ChatRequest>,
        "ChatPlaygroundRequest" => as_type::<types::ChatPlaygroundRequest>,
        "ChatBusinessRequest" => as_type::<types::ChatBusinessRequest>,
        "SuggestionRequest" => as_type::<types::SuggestionRequest>,
        "FeedbackRequest" => as_type::<types::FeedbackRequest>,
        other => return Err(format!("no generated type is known for schema `{other}`")),
    };
    decode(value)
}

fn as_type<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    T::deserialize(value)
        .map(drop)
        .map_err(|e| format!("{} does not decode it: {e}", short_name::<T>()))
}

/// `types::AddResponse` for `memos_api::product::types::AddResponse`.
fn short_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let last = full.rsplit("::").next().unwrap_or(full);
    format!("types::{last}")
}
