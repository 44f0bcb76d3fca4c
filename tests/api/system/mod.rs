//! `/api/v1/system/...`: reboot, the host's information, disk usage, boxd's own log.

mod disk_usage;
mod info;
mod logs;
mod reboot;
