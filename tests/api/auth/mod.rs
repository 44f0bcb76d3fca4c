//! `/api/v1/auth/...`, public: login, setting up an invited account, password resets.

mod login;
mod password_reset;
mod reset_request;
mod setup_account;
