/**
 * Machine-readable reasons sent to clients in the `reason` field of every error body and written to the log.
 * They are part of the public contract: clients and dashboards match on them.
 */
export type RejectionReason =
  // trust
  | 'untrusted_proxy'
  | 'missing_identity'
  // header names
  | 'duplicate_header'
  | 'header_twin'
  | 'hop_by_hop_header'
  | 'header_list_truncated'
  // header values
  | 'invalid_header_encoding'
  | 'invalid_username'
  | 'invalid_email'
  | 'invalid_display_name'
  | 'invalid_groups'
  | 'too_many_groups'
  | 'value_too_long'
  // accounts
  | 'unknown_user'
  | 'user_disabled'
  | 'username_taken'
  | 'missing_group'
  | 'unsupported_context'
  // sessions, cross-site requests and tokens
  | 'invalid_session'
  | 'cross_site_request'
  | 'invalid_token'
  // admin API
  | 'admin_required'
  | 'unsupported_media_type'
  | 'validation_failed'
  | 'not_found'
  | 'conflict'
  // infrastructure
  | 'database_unavailable'
  | 'assertion_keys_unavailable';
