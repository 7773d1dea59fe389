//! Client tests against hostile servers (one binary; see each module).

mod defects;
mod hostile_server;
mod support;
